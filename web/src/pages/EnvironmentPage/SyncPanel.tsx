import type { EnvironmentSync, SyncSource } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";

/** The environment's sync policy: manual, or automatic from a git source; the pin and Unpin. */
export function SyncPanel(props: {
  sync: EnvironmentSync;
  source: AsyncState<SyncSource>;
  canUnpin: boolean;
  busy: boolean;
  error: unknown;
  onUnpin: () => void;
}) {
  const { sync } = props;
  return (
    <>
      <div className="section-head">
        <h2>Sync</h2>
      </div>
      {sync.mode === "manual" ? (
        <p className="muted" data-testid="sync-mode">
          Manual: releases are deployed when someone deploys them.
        </p>
      ) : (
        <>
          <p data-testid="sync-mode">
            Automatic: every commit that changes the compose file’s directory is released and deployed.
          </p>
          <AsyncContent state={props.source} loadingLabel="Loading the git source…">
            {(s) => (
              <dl className="facts" data-testid="sync-source">
                <dt>Source</dt>
                <dd className="mono">
                  {s.repoUrl} · {s.ref} · {s.path}
                </dd>
                <dt>Last commit seen</dt>
                <dd className="mono">{s.lastCommit ? s.lastCommit.slice(0, 12) : "none yet"}</dd>
                <dt>Polls every</dt>
                <dd>{s.pollIntervalSeconds} s</dd>
                <dt>Webhook URL</dt>
                <dd className="mono">{s.webhookUrl}</dd>
                {s.lastError && (
                  <>
                    <dt>Last error</dt>
                    <dd>
                      {s.lastError.code}: {s.lastError.message}
                    </dd>
                  </>
                )}
              </dl>
            )}
          </AsyncContent>
        </>
      )}
      {sync.pinned && (
        <div className="notice notice-warn" data-testid="sync-pinned">
          <strong>Pinned: automatic sync is paused.</strong>
          <p>
            {sync.pinned.reason}
            {sync.pinned.pinnedBy ? ` (${sync.pinned.pinnedBy})` : ""}. New commits are released but not deployed here
            until it is unpinned.
          </p>
          {props.canUnpin && (
            <button type="button" disabled={props.busy} onClick={props.onUnpin}>
              {props.busy ? "Unpinning…" : "Unpin and deploy the newest commit"}
            </button>
          )}
          {props.error ? <ErrorNotice error={props.error} compact /> : null}
        </div>
      )}
    </>
  );
}

import { useState } from "react";
import type { SetUpAutoSyncInput } from "../../api/hooks/sync.js";
import type { EnvironmentSync, SyncSource } from "../../api/types.js";
import { OneTimeSecret } from "../../components/CopyButton.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";

/** The environment's sync policy: manual, or automatic from a git source; Pin (with a reason) and Unpin. */
export function SyncPanel(props: {
  sync: EnvironmentSync;
  source: AsyncState<SyncSource>;
  /** May pin and unpin (deployments:write). */
  canPin: boolean;
  busy: boolean;
  error: unknown;
  onUnpin: () => void;
  pin: { busy: boolean; error: unknown; onPin: (reason: string) => void };
  /** Setting up auto-sync (a new source + automatic): null when the caller may not. */
  setUp: null | {
    busy: boolean;
    error: unknown;
    /** The secret of the source just created: shown once. */
    createdSecret: string | null;
    onSubmit: (input: SetUpAutoSyncInput) => void;
  };
}) {
  const { sync } = props;
  return (
    <>
      <div className="section-head">
        <h2>Sync</h2>
      </div>
      {sync.mode === "manual" ? (
        <>
          <p className="muted" data-testid="sync-mode">
            Manual: releases are deployed when someone deploys them.
          </p>
          {props.setUp && <SetUpForm {...props.setUp} />}
        </>
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
      {props.setUp?.createdSecret && (
        <OneTimeSecret
          label="Webhook secret"
          value={props.setUp.createdSecret}
          hint="Shown only this once: paste it into the forge's webhook settings (GitLab: as the secret token)."
        />
      )}
      {sync.pinned && (
        <div className="notice notice-warn" data-testid="sync-pinned">
          <strong>Pinned: automatic sync is paused.</strong>
          <p>
            {sync.pinned.reason}
            {sync.pinned.pinnedBy ? ` (${sync.pinned.pinnedBy})` : ""}. New commits are released but not deployed here
            until it is unpinned.
          </p>
          {props.canPin && (
            <button type="button" disabled={props.busy} onClick={props.onUnpin}>
              {props.busy ? "Unpinning…" : sync.mode === "automatic" ? "Unpin and deploy the newest commit" : "Unpin"}
            </button>
          )}
          {props.error ? <ErrorNotice error={props.error} compact /> : null}
        </div>
      )}
      {!sync.pinned && props.canPin && <PinForm automatic={sync.mode === "automatic"} {...props.pin} />}
    </>
  );
}

/** Pinning by hand: the reason is required, shown on the pin and kept in the audit log. */
function PinForm(props: { automatic: boolean; busy: boolean; error: unknown; onPin: (reason: string) => void }) {
  const [reason, setReason] = useState("");
  return (
    <form
      className="form"
      aria-label="Pin"
      onSubmit={(e) => {
        e.preventDefault();
        props.onPin(reason.trim());
      }}
    >
      <p className="muted">
        {props.automatic
          ? "Pinning pauses automatic sync: new commits are released but not deployed here until it is unpinned."
          : "Pinning holds the environment where it is: if automatic sync is turned on, it stays paused until unpinned."}
      </p>
      <label>
        Reason for pinning
        <input
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          maxLength={500}
          placeholder="e.g. incident 42: hold at the current release"
          required
        />
      </label>
      {props.error ? <ErrorNotice error={props.error} compact /> : null}
      <div className="actions">
        <button type="submit" disabled={props.busy || reason.trim() === ""}>
          {props.busy ? "Pinning…" : "Pin"}
        </button>
      </div>
    </form>
  );
}

function SetUpForm(props: { busy: boolean; error: unknown; onSubmit: (input: SetUpAutoSyncInput) => void }) {
  const [repoUrl, setRepoUrl] = useState("");
  const [ref, setRef] = useState("main");
  const [path, setPath] = useState("compose.yml");
  const [interval, setPollInterval] = useState(60);
  return (
    <form
      className="form"
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit({ repoUrl: repoUrl.trim(), ref: ref.trim(), path: path.trim(), pollIntervalSeconds: interval });
      }}
    >
      <label>
        Repository URL
        <input value={repoUrl} onChange={(e) => setRepoUrl(e.target.value)} placeholder="https://…/repo.git" required />
      </label>
      <label>
        Branch or tag
        <input value={ref} onChange={(e) => setRef(e.target.value)} required />
      </label>
      <label>
        Compose file path
        <input value={path} onChange={(e) => setPath(e.target.value)} required />
      </label>
      <label>
        Poll interval (seconds)
        <input
          type="number"
          min={5}
          max={86400}
          value={interval}
          onChange={(e) => setPollInterval(Number(e.target.value))}
          required
        />
      </label>
      {props.error ? <ErrorNotice error={props.error} compact /> : null}
      <div className="actions">
        <button type="submit" disabled={props.busy}>
          {props.busy ? "Checking the repository…" : "Sync automatically"}
        </button>
      </div>
    </form>
  );
}

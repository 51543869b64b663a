import { useState } from "react";
import type { DeployInput } from "../../api/hooks/deployments.js";
import { useDiff } from "../../api/hooks/stacks.js";
import type { Deployment, ReleaseSummary } from "../../api/types.js";
import { AsyncContent } from "../../components/AsyncContent.js";
import { UnifiedDiff } from "../../components/Code.js";
import { Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { newIdempotencyKey } from "../../components/actor.js";
import { formatAge } from "../../components/RelativeTime.js";
import { ServicesDiff, sideLabel } from "../DiffPage/DiffView.js";

export const ROLLBACK_WARNING = "Volumes and data are NOT rolled back.";
export const ROLLBACK_PINS =
  "This environment syncs automatically from git: rolling back pins it, pausing automatic sync.";
const ROLLBACK_DETAIL =
  "Services go back to the older release’s compose file; databases, volumes and anything the newer release " +
  "wrote stay as they are.";

/** What runs or waits in the environment when the dialog opens: a new deployment queues behind all of it. */
export interface DeploymentQueue {
  running: Deployment | null;
  /** PENDING deployments, oldest first. */
  queued: Deployment[];
}

const releaseLabel = (r: ReleaseSummary, note: string | null): string =>
  [`v${r.version}`, r.sourceRef, `created ${formatAge(Date.now() - Date.parse(r.createdAt))}`, note]
    .filter(Boolean)
    .join(" · ");

/**
 * Deploy a release, or roll back to an older one: choose it, read what would change on the cluster (the same
 * diff as the diff page), then confirm. The idempotency key belongs to the choice, so retrying a confirm whose
 * answer was lost cannot start a second deployment, while choosing another release gets a fresh key.
 */
export function ReleaseDialog(props: {
  mode: "deploy" | "rollback";
  envId: string;
  releases: ReleaseSummary[];
  currentReleaseId: string | null;
  initialReleaseId: string | null;
  /** Release id → a note shown with it (e.g. "previous successful"). */
  notes?: Record<string, string>;
  /** Release ids whose last deployment in this environment failed: marked in the picker. */
  failedReleaseIds?: ReadonlySet<string>;
  queue: DeploymentQueue;
  /** Why the agent cannot take the deployment now (it is offline), or null. */
  agentOffline: string | null;
  /** Replica counts set by scaling that the deployment keeps. */
  replicaOverrides: Record<string, number>;
  /** The environment syncs automatically from git (and is not pinned): a rollback pins it. */
  autoSync?: boolean;
  busy: boolean;
  error: unknown;
  onSubmit: (input: DeployInput) => void;
  onClose: () => void;
}) {
  const choices =
    props.mode === "rollback" ? props.releases.filter((r) => r.id !== props.currentReleaseId) : props.releases;
  const [releaseId, setReleaseId] = useState(props.initialReleaseId ?? choices[0]?.id ?? "");
  const [idempotencyKey, setIdempotencyKey] = useState(newIdempotencyKey);
  const diff = useDiff(props.envId, "current", releaseId || null);
  const chosen = choices.find((r) => r.id === releaseId);
  const rollback = props.mode === "rollback";
  const title = rollback ? "Roll back" : "Deploy a release";
  const waits = props.queue.running !== null || props.queue.queued.length > 0;
  const noteOf = (r: ReleaseSummary): string | null =>
    [
      props.notes?.[r.id] ?? (r.id === props.currentReleaseId ? "deployed now" : null),
      props.failedReleaseIds?.has(r.id) ? "✗ failed here" : null,
    ]
      .filter(Boolean)
      .join(" · ") || null;
  const overrides = Object.entries(props.replicaOverrides);

  const choose = (id: string) => {
    setReleaseId(id);
    setIdempotencyKey(newIdempotencyKey());
  };

  return (
    <Dialog title={title} onClose={props.onClose} wide>
      {rollback && (
        <div className="notice notice-warn" data-testid="rollback-warning">
          <strong>{ROLLBACK_WARNING}</strong>
          <p>{ROLLBACK_DETAIL}</p>
        </div>
      )}
      {rollback && props.autoSync && (
        <div className="notice notice-warn" data-testid="rollback-pins-notice">
          <strong>{ROLLBACK_PINS}</strong>
          <p>New commits are still released but not deployed here until you unpin the environment.</p>
        </div>
      )}
      {waits && (
        <div className="notice notice-info" data-testid="queue-notice">
          <strong>
            {props.queue.running
              ? `Deployment of v${props.queue.running.releaseVersion ?? "?"} is running`
              : `Deployment of v${props.queue.queued[0]?.releaseVersion ?? "?"} is queued`}
            {props.queue.running && props.queue.queued.length > 0 ? `, ${props.queue.queued.length} more queued` : ""}
            {!props.queue.running && props.queue.queued.length > 1 ? `, ${props.queue.queued.length - 1} more` : ""}.
          </strong>
          <p>
            This {rollback ? "rollback" : "deployment"} is queued behind {props.queue.running ? "it" : "them"} and
            starts when {props.queue.running && props.queue.queued.length === 0 ? "it ends" : "they end"}.
            {rollback && chosen
              ? ` It goes back to v${chosen.version}, fixed now: the target does not change when the running deployment ends.`
              : ""}
          </p>
        </div>
      )}
      {props.agentOffline && (
        <div className="notice notice-warn" data-testid="agent-offline-notice">
          <strong>{props.agentOffline}.</strong>
          <p>The deployment waits for the agent to connect, and fails if it does not connect in time.</p>
        </div>
      )}
      {choices.length === 0 ? (
        <p className="muted">
          {rollback ? "There is no other release to roll back to." : "No releases yet: upload one on the stack page."}
        </p>
      ) : (
        <>
          <label>
            {rollback ? "Roll back to" : "Release"}
            <select value={releaseId} onChange={(e) => choose(e.target.value)}>
              {choices.map((r) => (
                <option key={r.id} value={r.id}>
                  {releaseLabel(r, noteOf(r))}
                </option>
              ))}
            </select>
          </label>
          {chosen && props.failedReleaseIds?.has(chosen.id) && (
            <p className="notice notice-warn compact" data-testid="failed-release-note">
              The last deployment of v{chosen.version} in this environment failed.
            </p>
          )}
          {overrides.length > 0 && (
            <p className="muted small" data-testid="replica-overrides-note">
              Scaled services keep their count over the release’s:{" "}
              {overrides.map(([name, n]) => `${name} ${n}`).join(", ")}.
            </p>
          )}
          {!rollback && releaseId === props.currentReleaseId && (
            <p className="muted small">
              This release is deployed already. Deploying it again applies the environment’s current overlay and
              secrets.
            </p>
          )}
          <div className="dialog-diff">
            <AsyncContent
              state={{
                data: diff.data,
                error: diff.error,
                isLoading: diff.isLoading,
                onRetry: () => void diff.mutate(),
              }}
              loadingLabel="Rendering what would change…"
            >
              {(d) => (
                <>
                  <h3>
                    What changes: {sideLabel(d.from)} → {sideLabel(d.to)}
                  </h3>
                  <ServicesDiff diff={d} />
                  {d.unified.trim() ? (
                    <details>
                      <summary>Rendered compose file diff</summary>
                      <UnifiedDiff diff={d.unified} />
                    </details>
                  ) : (
                    <p className="muted small">The rendered compose file is the same.</p>
                  )}
                </>
              )}
            </AsyncContent>
          </div>
        </>
      )}
      {props.error ? <ErrorNotice error={props.error} compact /> : null}
      <div className="actions">
        <button type="button" className="secondary" onClick={props.onClose}>
          Cancel
        </button>
        <button
          type="button"
          className={rollback ? "danger" : undefined}
          disabled={props.busy || !chosen}
          onClick={() => chosen && props.onSubmit({ releaseId: chosen.id, idempotencyKey })}
        >
          {props.busy
            ? "Starting…"
            : chosen
              ? `${waits ? "Queue: " : ""}${rollback ? "Roll back to" : "Deploy"} v${chosen.version}`
              : title}
        </button>
      </div>
    </Dialog>
  );
}

import { useState } from "react";
import type { DeployInput } from "../../api/hooks/deployments.js";
import { useDiff } from "../../api/hooks/stacks.js";
import type { ReleaseSummary } from "../../api/types.js";
import { AsyncContent } from "../../components/AsyncContent.js";
import { UnifiedDiff } from "../../components/Code.js";
import { Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { newIdempotencyKey } from "../../components/actor.js";
import { formatAge } from "../../components/RelativeTime.js";
import { ServicesDiff, sideLabel } from "../DiffPage/DiffView.js";

export const ROLLBACK_WARNING = "Volumes and data are NOT rolled back.";
const ROLLBACK_DETAIL =
  "Services go back to the older release’s compose file; databases, volumes and anything the newer release " +
  "wrote stay as they are.";

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
                  {releaseLabel(r, props.notes?.[r.id] ?? (r.id === props.currentReleaseId ? "deployed now" : null))}
                </option>
              ))}
            </select>
          </label>
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
          {props.busy ? "Starting…" : chosen ? `${rollback ? "Roll back to" : "Deploy"} v${chosen.version}` : title}
        </button>
      </div>
    </Dialog>
  );
}

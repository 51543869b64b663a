import { Link } from "react-router-dom";
import type { DeploymentEnd } from "../../api/deployment-events.js";
import { isDeploymentActive, type Deployment, type DeploymentEvent } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { DeploymentConsole } from "../../components/DeploymentConsole.js";
import { formatDuration, RelativeTime } from "../../components/RelativeTime.js";
import { StatusBadge } from "../../components/StatusBadge.js";

/**
 * The deployment the console follows: the one the environment's queue is working on (the oldest that is still
 * pending or running), otherwise the newest.
 */
export function consoleDeployment(newestFirst: readonly Deployment[]): Deployment | null {
  const active = newestFirst.filter((d) => isDeploymentActive(d.status));
  return active.find((d) => d.status === "RUNNING") ?? active.at(-1) ?? newestFirst[0] ?? null;
}

export function durationText(d: Deployment): string {
  if (d.durationMs !== null) return formatDuration(d.durationMs);
  if (d.status === "RUNNING") return "running…";
  if (d.status === "PENDING") return "queued";
  return "—";
}

const kindText = (d: Deployment): string =>
  `${d.kind === "rollback" ? "Rollback to" : "Deploy of"} v${d.releaseVersion ?? "?"}`;

/** The active (or last) deployment with its live console. */
export function CurrentDeployment(props: {
  state: AsyncState<Deployment | null>;
  actorName: (d: Deployment) => string;
  deploymentHref: (id: string) => string;
  canCancel: boolean;
  onCancel: (d: Deployment) => void;
  onEvent: (event: DeploymentEvent) => void;
  onEnd: (end: DeploymentEnd) => void;
}) {
  return (
    <AsyncContent
      state={props.state}
      loadingLabel="Loading deployments…"
      isEmpty={(d) => d === null}
      empty={
        <>
          <p>Nothing has been deployed to this environment yet.</p>
          <p className="muted">Choose “Deploy” to roll out a release; its output streams here live.</p>
        </>
      }
    >
      {(d) =>
        d && (
          <div className="current-deployment" data-deployment={d.id}>
            <div className="section-head">
              <h2>
                <Link to={props.deploymentHref(d.id)}>{kindText(d)}</Link> <StatusBadge status={d.status} />
              </h2>
              {isDeploymentActive(d.status) && props.canCancel && (
                <button type="button" className="danger outline small" onClick={() => props.onCancel(d)}>
                  Cancel deployment
                </button>
              )}
            </div>
            <p className="muted small">
              By {props.actorName(d)} · <RelativeTime iso={d.createdAt} /> · {durationText(d)}
            </p>
            {d.errorMessage && <p className="deployment-error">{d.errorMessage}</p>}
            <DeploymentConsole key={d.id} deploymentId={d.id} onEvent={props.onEvent} onEnd={props.onEnd} />
          </div>
        )
      }
    </AsyncContent>
  );
}

/** Deployment history, newest first, with older pages on demand. */
export function DeploymentHistory(props: {
  state: AsyncState<Deployment[]>;
  actorName: (d: Deployment) => string;
  deploymentHref: (id: string) => string;
  releaseHref: (id: string) => string;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
}) {
  return (
    <AsyncContent
      state={props.state}
      loadingLabel="Loading deployment history…"
      isEmpty={(items) => items.length === 0}
      empty={<p className="muted">No deployments yet.</p>}
    >
      {(items) => (
        <>
          <table className="table deployments">
            <thead>
              <tr>
                <th>Status</th>
                <th>Release</th>
                <th>Kind</th>
                <th>By</th>
                <th>Started</th>
                <th>Duration</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr key={d.id} data-deployment={d.id} data-status={d.status}>
                  <td>
                    <StatusBadge status={d.status} title={d.errorMessage ?? undefined} />
                  </td>
                  <td>
                    <Link to={props.releaseHref(d.releaseId)}>v{d.releaseVersion ?? "?"}</Link>
                  </td>
                  <td>{d.kind}</td>
                  <td className="small">{props.actorName(d)}</td>
                  <td>
                    <RelativeTime iso={d.startedAt ?? d.createdAt} />
                  </td>
                  <td className="nowrap">{durationText(d)}</td>
                  <td className="row-actions">
                    <Link to={props.deploymentHref(d.id)}>Details</Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {props.hasMore && (
            <div className="actions center">
              <button type="button" className="secondary" disabled={props.loadingMore} onClick={props.onLoadMore}>
                {props.loadingMore ? "Loading…" : "Load older deployments"}
              </button>
            </div>
          )}
        </>
      )}
    </AsyncContent>
  );
}

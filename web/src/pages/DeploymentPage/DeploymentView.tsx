import type { ReactNode } from "react";
import { Link } from "react-router-dom";
import { isDeploymentActive, type Deployment, type EnvironmentDetail } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { PageHeader } from "../../components/PageHeader.js";
import { PolicyViolations } from "../../components/PolicyViolations.js";
import { formatDateTime } from "../../components/RelativeTime.js";
import { StatusBadge } from "../../components/StatusBadge.js";
import { durationText } from "../EnvironmentPage/DeploymentsPanel.js";
import { ApprovalPanel, type ApprovalActions } from "./ApprovalPanel.js";

const when = (iso: string | null, never: string): string => (iso ? formatDateTime(iso) : never);

/** What a user can do about a deployment that ended badly; a null action is not offered, a string says why not. */
export interface NextActions {
  /** The release "Roll back" goes to: the environment's current one (its last successful deployment). */
  rollbackVersion: number | null;
  /** Why Roll back / Redeploy are disabled (a missing permission, nothing to go back to); null when enabled. */
  rollbackDisabled: string | null;
  redeployDisabled: string | null;
  onRollBack: () => void;
  onRedeploy: () => void;
  onOpenLogs: () => void;
}

/** One deployment: what, who, when, how it ended, and its whole event log (`console`, live while it runs). */
export function DeploymentView(props: {
  state: AsyncState<Deployment>;
  environment: EnvironmentDetail | undefined;
  environmentHref: (envId: string) => string;
  releaseHref: (releaseId: string) => string;
  actorName: (d: Deployment) => string;
  deploymentHref: (deploymentId: string) => string;
  canCancel: boolean;
  onCancel: () => void;
  next: NextActions;
  approval: ApprovalActions;
  console: ReactNode;
}) {
  const env = props.environment;
  return (
    <AsyncContent state={props.state} loadingLabel="Loading deployment…">
      {(d) => (
        <>
          <p className="crumbs">
            <Link to={props.environmentHref(d.environmentId)}>
              ← {env ? `${env.stack.name} / ${env.name}` : "Environment"}
            </Link>
          </p>
          <PageHeader
            title={
              <>
                {d.kind === "rollback" ? "Rollback to" : d.promotedFrom ? "Promotion of" : "Deploy of"} v
                {d.releaseVersion ?? "?"} <StatusBadge status={d.status} />
              </>
            }
            subtitle={env ? `${env.stack.name} / ${env.name} on cluster ${env.cluster.name}` : undefined}
            actions={
              isDeploymentActive(d.status) && (
                <button
                  type="button"
                  className="danger outline"
                  disabled={!props.canCancel}
                  title={props.canCancel ? undefined : "Needs the deployments:write permission"}
                  onClick={props.onCancel}
                >
                  Cancel deployment
                </button>
              )
            }
          />
          {d.errorMessage && (
            <div
              className={d.status === "CANCELED" ? "notice" : "notice notice-error"}
              role="status"
              aria-label="Outcome"
            >
              <strong>{d.status === "CANCELED" ? "Canceled" : d.status === "REJECTED" ? "Rejected" : "Failed"}</strong>
              {d.policyViolations ? (
                <>
                  <p>Refused before anything was sent to the cluster: the compose policy forbids</p>
                  <PolicyViolations violations={d.policyViolations} />
                </>
              ) : (
                <p className="headline">{d.errorMessage}</p>
              )}
              {d.rolledBackBy && (
                <p>
                  The environment's failure policy rolled it back automatically:{" "}
                  <Link to={props.deploymentHref(d.rolledBackBy)}>see the rollback deployment</Link>.
                </p>
              )}
              {(d.status === "FAILED" || d.status === "CANCELED") && <NextActionButtons next={props.next} />}
            </div>
          )}
          <ApprovalPanel deployment={d} actions={props.approval} />
          {d.promotedFrom && (
            <p className="notice" role="note">
              A promotion: it deploys the release that{" "}
              <Link to={props.deploymentHref(d.promotedFrom)}>this deployment</Link> put in the source environment.
            </p>
          )}
          {d.rollbackOf && (
            <p className="notice" role="note">
              An automatic rollback, made by the environment's failure policy after{" "}
              <Link to={props.deploymentHref(d.rollbackOf)}>a failed deployment</Link>.
            </p>
          )}
          <section className="card">
            <dl className="facts">
              <div>
                <dt>Release</dt>
                <dd>
                  <Link to={props.releaseHref(d.releaseId)}>v{d.releaseVersion ?? "?"}</Link>
                </dd>
              </div>
              <div>
                <dt>Kind</dt>
                <dd>{d.kind}</dd>
              </div>
              <div>
                <dt>By</dt>
                <dd>{d.rollbackOf ? "Stackyard (the environment's failure policy)" : props.actorName(d)}</dd>
              </div>
              <div>
                <dt>Queued</dt>
                <dd>{formatDateTime(d.createdAt)}</dd>
              </div>
              <div>
                <dt>Started</dt>
                <dd>{when(d.startedAt, "not yet")}</dd>
              </div>
              <div>
                <dt>Finished</dt>
                <dd>{when(d.finishedAt, isDeploymentActive(d.status) ? "not yet" : "—")}</dd>
              </div>
              <div>
                <dt>Duration</dt>
                <dd>{durationText(d)}</dd>
              </div>
              <div>
                <dt>Id</dt>
                <dd className="mono small">{d.id}</dd>
              </div>
            </dl>
          </section>
          <DeployedImages deployment={d} />
          <section className="card">
            <h2>Events</h2>
            {props.console}
          </section>
        </>
      )}
    </AsyncContent>
  );
}

/**
 * What each service ran once the deployment succeeded: the pin a rollback or redeploy of this release deploys.
 * Said as unknown (not guessed from the tags) when the deployment did not succeed or its agent sent none.
 */
export function DeployedImages(props: { deployment: Deployment }) {
  const d = props.deployment;
  if (d.status !== "SUCCEEDED") return null;
  return (
    <section className="card" aria-label="Deployed images">
      <h2>Images</h2>
      {d.images === null ? (
        <p className="muted">
          Not recorded (the cluster&apos;s agent predates it): a rollback to this release deploys its tags as written.
        </p>
      ) : (
        <>
          <p className="muted">
            The exact images the services ran; a rollback or redeploy of this release deploys these, even if a tag has
            moved since.
          </p>
          <table>
            <thead>
              <tr>
                <th>Service</th>
                <th>Image</th>
                <th>Pinned</th>
              </tr>
            </thead>
            <tbody>
              {d.images.map((i) => (
                <tr key={i.service}>
                  <td>{i.service}</td>
                  <td className="mono small">{i.image}</td>
                  <td className="mono small" title={i.kind === "digest" ? "registry digest" : "node-local image ID"}>
                    {i.pinned}{" "}
                    <span className="muted">({i.kind === "digest" ? "registry digest" : "local image ID"})</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

/** Roll back / Redeploy / Open logs, each disabled with its reason when it cannot be done. */
function NextActionButtons(props: { next: NextActions }) {
  const { next } = props;
  return (
    <div className="actions" role="group" aria-label="Next steps">
      <button
        type="button"
        disabled={next.rollbackDisabled !== null}
        title={next.rollbackDisabled ?? undefined}
        onClick={next.onRollBack}
      >
        {next.rollbackVersion !== null ? `Roll back to v${next.rollbackVersion}` : "Roll back"}
      </button>
      <button
        type="button"
        className="secondary"
        disabled={next.redeployDisabled !== null}
        title={next.redeployDisabled ?? undefined}
        onClick={next.onRedeploy}
      >
        Redeploy
      </button>
      <button type="button" className="secondary" onClick={next.onOpenLogs}>
        Open logs
      </button>
      {(next.rollbackDisabled ?? next.redeployDisabled) && (
        <p className="muted small">{next.rollbackDisabled ?? next.redeployDisabled}</p>
      )}
    </div>
  );
}

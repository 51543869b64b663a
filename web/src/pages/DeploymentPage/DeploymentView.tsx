import type { ReactNode } from "react";
import { Link } from "react-router-dom";
import { isDeploymentActive, type Deployment, type EnvironmentDetail } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { PageHeader } from "../../components/PageHeader.js";
import { PolicyViolations } from "../../components/PolicyViolations.js";
import { formatDateTime } from "../../components/RelativeTime.js";
import { StatusBadge } from "../../components/StatusBadge.js";
import { durationText } from "../EnvironmentPage/DeploymentsPanel.js";

const when = (iso: string | null, never: string): string => (iso ? formatDateTime(iso) : never);

/** One deployment: what, who, when, how it ended, and its whole event log (`console`, live while it runs). */
export function DeploymentView(props: {
  state: AsyncState<Deployment>;
  environment: EnvironmentDetail | undefined;
  environmentHref: (envId: string) => string;
  releaseHref: (releaseId: string) => string;
  actorName: (d: Deployment) => string;
  canCancel: boolean;
  onCancel: () => void;
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
                {d.kind === "rollback" ? "Rollback to" : "Deploy of"} v{d.releaseVersion ?? "?"}{" "}
                <StatusBadge status={d.status} />
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
            <div className={d.status === "CANCELED" ? "notice" : "notice notice-error"} role="status">
              <strong>{d.status === "CANCELED" ? "Canceled" : "Failed"}</strong>
              {d.policyViolations ? (
                <>
                  <p>Refused before anything was sent to the cluster: the compose policy forbids</p>
                  <PolicyViolations violations={d.policyViolations} />
                </>
              ) : (
                <p>{d.errorMessage}</p>
              )}
            </div>
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
                <dd>{props.actorName(d)}</dd>
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
          <section className="card">
            <h2>Events</h2>
            {props.console}
          </section>
        </>
      )}
    </AsyncContent>
  );
}

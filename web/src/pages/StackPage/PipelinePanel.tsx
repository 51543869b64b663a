import { Link } from "react-router-dom";
import type { PendingApproval, StackDetail } from "../../api/types.js";
import { RelativeTime } from "../../components/RelativeTime.js";
import { StatusBadge } from "../../components/StatusBadge.js";

type StackEnvironment = StackDetail["environments"][number];

/** The stack's environments in pipeline order (ascending position); those without a position are not in it. */
export function pipelineOf(stack: StackDetail): StackEnvironment[] {
  return stack.environments
    .filter((e) => e.pipelinePosition !== null)
    .sort((a, b) => (a.pipelinePosition ?? 0) - (b.pipelinePosition ?? 0));
}

/**
 * The promotion pipeline (dev → staging → prod): what each environment runs and "Promote to <next>", which
 * deploys that very release to the next one (waiting for approval there when the next one requires it).
 */
export function PipelinePanel(props: {
  stack: StackDetail;
  approvals: PendingApproval[];
  environmentHref: (envId: string) => string;
  deploymentHref: (deploymentId: string) => string;
  canDeploy: boolean;
  onPromote: (from: StackEnvironment, to: StackEnvironment) => void;
}) {
  const pipeline = pipelineOf(props.stack);
  const promoteDisabled = (e: StackEnvironment): string | null =>
    !props.canDeploy
      ? "Needs the deployments:write permission"
      : e.currentRelease === null
        ? `${e.name} has no successful deployment to promote`
        : null;
  const pending = props.approvals.filter((a) => a.stack.id === props.stack.id);
  if (pipeline.length === 0 && pending.length === 0) return null;
  return (
    <section className="card" aria-label="Promotion pipeline">
      <h2>Promotion pipeline</h2>
      {pipeline.length > 0 && (
        <ol className="pipeline">
          {pipeline.map((e, i) => {
            const next = pipeline[i + 1];
            return (
              <li key={e.id} aria-label={`Pipeline stage ${e.name}`}>
                <Link to={props.environmentHref(e.id)}>
                  <strong>{e.name}</strong>
                </Link>{" "}
                {e.currentRelease ? (
                  <>
                    runs{" "}
                    <Link to={props.deploymentHref(e.currentRelease.deploymentId)}>v{e.currentRelease.version}</Link>
                  </>
                ) : (
                  <span className="muted">nothing deployed yet</span>
                )}
                {e.approval.required && (
                  <>
                    {" "}
                    <span className="badge badge-warn" title="Deployments here wait for an approval">
                      approval by {e.approval.role}
                    </span>
                  </>
                )}
                {next && (
                  <>
                    {" "}
                    <button
                      type="button"
                      className="secondary small"
                      disabled={promoteDisabled(e) !== null}
                      title={promoteDisabled(e) ?? undefined}
                      onClick={() => props.onPromote(e, next)}
                    >
                      Promote to {next.name}
                    </button>
                  </>
                )}
              </li>
            );
          })}
        </ol>
      )}
      {pending.length > 0 && (
        <>
          <h3>Awaiting approval</h3>
          <ul className="plain" aria-label="Pending approvals">
            {pending.map((a) => (
              <li key={a.deploymentId}>
                <Link to={props.deploymentHref(a.deploymentId)}>
                  v{a.release.version} to {a.environment.name}
                  {a.promotedFrom?.environmentName ? ` (promoted from ${a.promotedFrom.environmentName})` : ""}
                </Link>{" "}
                <StatusBadge status="AWAITING_APPROVAL" /> <RelativeTime iso={a.createdAt} />
                {!a.canDecide && <span className="muted small"> — another user must decide</span>}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

import { useState, type ReactNode } from "react";
import { Link } from "react-router-dom";
import type { EnvironmentDetail, ReleaseSummary } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { PageHeader } from "../../components/PageHeader.js";

/**
 * The environment page's frame. The sections with data of their own (the current deployment and its console,
 * services, history, overlay, secrets) are rendered by the page and passed in.
 */
export function EnvironmentView(props: {
  state: AsyncState<EnvironmentDetail>;
  releases: ReleaseSummary[];
  /** Releases whose last deployment here failed: marked in the compare picker. */
  failedReleaseIds?: ReadonlySet<string>;
  stackHref: (stackId: string) => string;
  clusterHref: (clusterId: string) => string;
  releaseHref: (releaseId: string) => string;
  diffHref: (toReleaseId: string) => string;
  /** Why Deploy / Roll back cannot be used now (a missing permission, nothing to deploy); null when they can. */
  deployBlocked: string | null;
  rollbackBlocked: string | null;
  onDeploy: () => void;
  onRollback: () => void;
  deployment: ReactNode;
  services: ReactNode;
  /** The log search across the environment's services. */
  logs?: ReactNode;
  history: ReactNode;
  overlay: ReactNode;
  secrets: ReactNode;
  registries: ReactNode;
  /** Git auto-sync and the pin (absent until the environment loaded). */
  sync?: ReactNode;
  /** Settings and delete, with their dialogs (they need the loaded environment). */
  manage?: (env: EnvironmentDetail) => ReactNode;
}) {
  return (
    <AsyncContent state={props.state} loadingLabel="Loading environment…">
      {(env) => (
        <>
          <p className="crumbs">
            <Link to={props.stackHref(env.stack.id)}>← {env.stack.name}</Link>
          </p>
          <PageHeader
            title={`${env.stack.name} / ${env.name}`}
            subtitle={
              <>
                On cluster <Link to={props.clusterHref(env.cluster.id)}>{env.cluster.name}</Link> as Swarm stack{" "}
                <code title="docker stack deploy name">{env.swarmStack}</code> ·{" "}
                {env.currentRelease ? (
                  <>
                    running{" "}
                    <Link to={props.releaseHref(env.currentRelease.id)}>release v{env.currentRelease.version}</Link>
                  </>
                ) : (
                  "nothing deployed yet"
                )}
              </>
            }
            actions={
              <>
                {props.manage?.(env)}
                <button
                  type="button"
                  className="secondary"
                  disabled={props.rollbackBlocked !== null}
                  title={props.rollbackBlocked ?? undefined}
                  onClick={props.onRollback}
                >
                  Roll back…
                </button>
                <button
                  type="button"
                  disabled={props.deployBlocked !== null}
                  title={props.deployBlocked ?? undefined}
                  onClick={props.onDeploy}
                >
                  Deploy…
                </button>
              </>
            }
          />
          <section className="card" aria-label="Current deployment">
            {props.deployment}
          </section>
          <section className="card" aria-label="Services">
            {props.services}
          </section>
          {props.logs ? (
            <section className="card" aria-label="Logs">
              {props.logs}
            </section>
          ) : null}
          <section className="card" aria-label="Deployment history">
            <h2>Deployments</h2>
            {props.history}
          </section>
          <section className="card">
            <h2>Compare</h2>
            <CompareForm releases={props.releases} failed={props.failedReleaseIds} diffHref={props.diffHref} />
          </section>
          <section className="card">
            <h2>Overlay</h2>
            {props.overlay}
          </section>
          <section className="card">{props.secrets}</section>
          {props.sync ? <section className="card">{props.sync}</section> : null}
          <section className="card">{props.registries}</section>
        </>
      )}
    </AsyncContent>
  );
}

function CompareForm(props: {
  releases: ReleaseSummary[];
  failed: ReadonlySet<string> | undefined;
  diffHref: (toReleaseId: string) => string;
}) {
  const [to, setTo] = useState("");
  const target = to || props.releases[0]?.id || "";
  if (!props.releases.length) return <p className="muted">No releases yet: upload one on the stack page.</p>;
  return (
    <div className="inline-form">
      <span>What would change if</span>
      <select aria-label="Release to compare" value={target} onChange={(e) => setTo(e.target.value)}>
        {props.releases.map((r) => (
          <option key={r.id} value={r.id}>
            release v{r.version}
            {props.failed?.has(r.id) ? " · ✗ failed here" : ""}
          </option>
        ))}
      </select>
      <span>replaced what is deployed?</span>
      <Link className="button-link" to={props.diffHref(target)}>
        Show diff
      </Link>
    </div>
  );
}

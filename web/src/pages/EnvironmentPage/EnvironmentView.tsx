import { useState, type ReactNode } from "react";
import { Link } from "react-router-dom";
import type { EnvironmentDetail, ReleaseSummary } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { FutureSlot, PageHeader } from "../../components/PageHeader.js";

/**
 * The environment page's frame. `overlay` and `secrets` are rendered by the page (they have their own data);
 * the deployment slots are where the deployments milestone mounts deploy/rollback, the console and services.
 */
export function EnvironmentView(props: {
  state: AsyncState<EnvironmentDetail>;
  releases: ReleaseSummary[];
  stackHref: (stackId: string) => string;
  clusterHref: (clusterId: string) => string;
  releaseHref: (releaseId: string) => string;
  diffHref: (toReleaseId: string) => string;
  overlay: ReactNode;
  secrets: ReactNode;
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
                On cluster <Link to={props.clusterHref(env.cluster.id)}>{env.cluster.name}</Link> ·{" "}
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
          />
          <section className="card">
            <h2>Compare</h2>
            <CompareForm releases={props.releases} diffHref={props.diffHref} />
          </section>
          <FutureSlot title="Deploy and roll back">
            Deploying a release (with its diff before confirming) and rolling back are added with the deployments
            milestone.
          </FutureSlot>
          <FutureSlot title="Services">
            The live services table (image, desired and running replicas, drift, scale) appears here with the
            deployments milestone.
          </FutureSlot>
          <FutureSlot title="Deployments">
            Deployment history and the live deployment console appear here with the deployments milestone.
          </FutureSlot>
          <section className="card">
            <h2>Overlay</h2>
            {props.overlay}
          </section>
          <section className="card">{props.secrets}</section>
        </>
      )}
    </AsyncContent>
  );
}

function CompareForm(props: { releases: ReleaseSummary[]; diffHref: (toReleaseId: string) => string }) {
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

import type { ReactNode } from "react";
import { Link } from "react-router-dom";
import type { Environment, ReleaseSummary, StackDetail } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { PageHeader, PermittedButton } from "../../components/PageHeader.js";
import { formatDateTime, RelativeTime } from "../../components/RelativeTime.js";
import { StatusBadge } from "../../components/StatusBadge.js";

export function StackView(props: {
  stack: AsyncState<StackDetail>;
  releases: AsyncState<ReleaseSummary[]>;
  backHref: string;
  clusterName: (clusterId: string) => string;
  environmentHref: (e: Environment) => string;
  releaseHref: (r: ReleaseSummary) => string;
  canWrite: boolean;
  onCreateEnvironment: () => void;
  onUploadRelease: () => void;
  onGitRelease: () => void;
  /** Rename and delete, with their dialogs (they need the loaded stack). */
  manage?: (stack: StackDetail) => ReactNode;
  /** The promotion pipeline and its pending approvals (they need the loaded stack). */
  pipeline?: (stack: StackDetail) => ReactNode;
  /** The pull requests' preview environments and their settings (they need the loaded stack). */
  previews?: (stack: StackDetail) => ReactNode;
}) {
  return (
    <>
      <p className="crumbs">
        <Link to={props.backHref}>← Stacks</Link>
      </p>
      <AsyncContent state={props.stack} loadingLabel="Loading stack…">
        {(stack) => (
          <>
            <PageHeader
              title={stack.name}
              subtitle={stack.description || `Created ${formatDateTime(stack.createdAt)}`}
              actions={
                <>
                  {props.manage?.(stack)}
                  <PermittedButton
                    allowed={props.canWrite}
                    permission="stacks:write"
                    className="secondary"
                    onClick={props.onUploadRelease}
                  >
                    Upload release
                  </PermittedButton>
                  <PermittedButton
                    allowed={props.canWrite}
                    permission="stacks:write"
                    className="secondary"
                    onClick={props.onGitRelease}
                  >
                    Release from git
                  </PermittedButton>
                  <PermittedButton
                    allowed={props.canWrite}
                    permission="stacks:write"
                    onClick={props.onCreateEnvironment}
                  >
                    New environment
                  </PermittedButton>
                </>
              }
            />
            {props.pipeline?.(stack)}
            <section className="card">
              <h2>Environments</h2>
              {stack.environments.length === 0 ? (
                <div className="empty">
                  <p>No environments yet.</p>
                  <p className="muted">
                    An environment deploys this stack to one cluster, with its own overlay and secrets.
                  </p>
                </div>
              ) : (
                <table className="table">
                  <thead>
                    <tr>
                      <th>Name</th>
                      <th>Cluster</th>
                      <th>Swarm stack</th>
                      <th>Last deployment</th>
                      <th>Deploy timeout</th>
                      <th>Created</th>
                    </tr>
                  </thead>
                  <tbody>
                    {stack.environments.map((e) => (
                      <tr key={e.id}>
                        <td>
                          <Link to={props.environmentHref(e)}>{e.name}</Link>
                        </td>
                        <td>{props.clusterName(e.clusterId)}</td>
                        <td>
                          <code>{e.swarmStack}</code>
                        </td>
                        <td>
                          {e.lastDeployment ? (
                            <>
                              v{e.lastDeployment.releaseVersion} <StatusBadge status={e.lastDeployment.status} />{" "}
                              <RelativeTime iso={e.lastDeployment.createdAt} />
                            </>
                          ) : (
                            <span className="muted">never deployed</span>
                          )}
                        </td>
                        <td>{e.deployTimeoutSeconds} s</td>
                        <td>
                          <RelativeTime iso={e.createdAt} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
            {props.previews?.(stack)}
          </>
        )}
      </AsyncContent>
      <section className="card">
        <h2>Releases</h2>
        <AsyncContent
          state={props.releases}
          loadingLabel="Loading releases…"
          isEmpty={(r) => r.length === 0}
          empty={<p className="muted">No releases yet. Upload a compose file to create version 1.</p>}
        >
          {(releases) => <ReleasesTable releases={releases} releaseHref={props.releaseHref} />}
        </AsyncContent>
      </section>
    </>
  );
}

function ReleasesTable(props: { releases: ReleaseSummary[]; releaseHref: (r: ReleaseSummary) => string }) {
  return (
    <table className="table">
      <thead>
        <tr>
          <th>Version</th>
          <th>Source</th>
          <th>SHA-256</th>
          <th>Warnings</th>
          <th>Created</th>
        </tr>
      </thead>
      <tbody>
        {props.releases.map((r) => (
          <tr key={r.id}>
            <td>
              <Link to={props.releaseHref(r)}>v{r.version}</Link>
            </td>
            <td>
              {r.sourceType}
              {r.sourceRef && <div className="muted small mono">{r.sourceRef}</div>}
            </td>
            <td className="mono small" title={r.sha256}>
              {r.sha256.slice(0, 12)}
            </td>
            <td>{r.warnings.length ? <span className="badge badge-warn">{r.warnings.length}</span> : "—"}</td>
            <td>
              <RelativeTime iso={r.createdAt} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

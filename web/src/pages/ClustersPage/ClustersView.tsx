import { Link } from "react-router-dom";
import type { Cluster } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { PageHeader, PermittedButton } from "../../components/PageHeader.js";
import { RelativeTime } from "../../components/RelativeTime.js";
import { ClusterStatusBadge } from "../../components/ClusterStatusBadge.js";

/** Facts the agent reports with each heartbeat; absent until the agent has registered. */
export function factOf(cluster: Cluster, name: string): string | null {
  const v = cluster.facts[name];
  return typeof v === "string" || typeof v === "number" ? String(v) : null;
}

export function ClustersView(props: {
  state: AsyncState<Cluster[]>;
  clusterHref: (c: Cluster) => string;
  canCreate: boolean;
  onCreate: () => void;
}) {
  const addButton = (
    <PermittedButton allowed={props.canCreate} permission="clusters:write" onClick={props.onCreate}>
      Add cluster
    </PermittedButton>
  );
  return (
    <>
      <PageHeader title="Clusters" subtitle="Swarm clusters connected through a Stackyard agent." actions={addButton} />
      <AsyncContent
        state={props.state}
        loadingLabel="Loading clusters…"
        isEmpty={(items) => items.length === 0}
        empty={
          <>
            <p>No clusters yet.</p>
            <p className="muted">
              Add one, then run the agent install command it shows on a manager node of your Swarm.
            </p>
          </>
        }
      >
        {(items) => (
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Status</th>
                <th>Last seen</th>
                <th>Nodes</th>
                <th>Agent</th>
                <th>Docker</th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr key={c.id}>
                  <td>
                    <Link to={props.clusterHref(c)}>{c.name}</Link>
                  </td>
                  <td>
                    <ClusterStatusBadge status={c.status} />
                    {c.openSecurityWarnings > 0 && (
                      <span
                        className="badge badge-bad security-warning"
                        title="The agent refused commands it was sent: open the cluster to review"
                      >
                        {c.openSecurityWarnings === 1
                          ? "1 security warning"
                          : `${c.openSecurityWarnings} security warnings`}
                      </span>
                    )}
                  </td>
                  <td>
                    <RelativeTime iso={c.lastSeenAt} />
                  </td>
                  <td>{factOf(c, "nodeCount") ?? "—"}</td>
                  <td>{factOf(c, "agentVersion") ?? "—"}</td>
                  <td>{factOf(c, "dockerVersion") ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </AsyncContent>
    </>
  );
}

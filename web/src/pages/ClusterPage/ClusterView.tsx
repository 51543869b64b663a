import { useState, type ReactNode } from "react";
import { Link } from "react-router-dom";
import type { Cluster, ClusterNode } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { PageHeader, PermittedButton } from "../../components/PageHeader.js";
import { formatDateTime, RelativeTime } from "../../components/RelativeTime.js";
import { StatusBadge } from "../../components/StatusBadge.js";
import { ClusterStatusBadge, CLUSTER_STATUS_MEANING } from "../../components/ClusterStatusBadge.js";
import { factOf } from "../ClustersPage/ClustersView.js";

const FACTS: Array<[key: string, label: string]> = [
  ["agentVersion", "Agent version"],
  ["hostname", "Agent host"],
  ["dockerVersion", "Docker"],
  ["apiVersion", "Docker API"],
  ["os", "OS"],
  ["arch", "Architecture"],
  ["swarmState", "Swarm state"],
  ["nodeCount", "Nodes"],
  ["managerCount", "Managers"],
  ["dockerError", "Docker error"],
];

export function ClusterView(props: {
  cluster: AsyncState<Cluster>;
  nodes: AsyncState<ClusterNode[]>;
  backHref: string;
  canWrite: boolean;
  onNewToken: () => void;
  onRevoke: () => void;
  onDelete: () => void;
  /** The security warnings (shown first) and the activity feed (shown last), rendered by the page. */
  warnings?: ReactNode;
  activity?: ReactNode;
  /** Node actions (availability, labels); absent: the table is read-only. */
  nodeActions?: NodeActions;
}) {
  return (
    <>
      <p className="crumbs">
        <Link to={props.backHref}>← Clusters</Link>
      </p>
      {props.warnings}
      <AsyncContent state={props.cluster} loadingLabel="Loading cluster…">
        {(c) => (
          <>
            <PageHeader
              title={
                <>
                  {c.name} <ClusterStatusBadge status={c.status} />
                </>
              }
              subtitle={
                <>
                  Last seen <RelativeTime iso={c.lastSeenAt} /> · added {formatDateTime(c.createdAt)}
                </>
              }
              actions={
                <>
                  <PermittedButton
                    allowed={props.canWrite}
                    permission="clusters:write"
                    className="secondary"
                    onClick={props.onNewToken}
                  >
                    New registration token
                  </PermittedButton>
                  <PermittedButton
                    allowed={props.canWrite && c.status !== "revoked"}
                    permission="clusters:write"
                    className="danger"
                    onClick={props.onRevoke}
                  >
                    Revoke agent
                  </PermittedButton>
                  <PermittedButton
                    allowed={props.canWrite}
                    permission="clusters:write"
                    className="danger outline"
                    onClick={props.onDelete}
                  >
                    Delete
                  </PermittedButton>
                </>
              }
            />
            {c.status === "pending" && (
              <div className="notice">
                No agent has registered yet. Run the agent install command shown when the cluster was added, or issue a
                new registration token.
              </div>
            )}
            {c.status === "degraded" && c.unhealthyNodes.length > 0 && (
              <div className="notice">
                Degraded: {c.unhealthyNodes.length === 1 ? "node" : "nodes"} {c.unhealthyNodes.join(", ")}{" "}
                {c.unhealthyNodes.length === 1 ? "is" : "are"} not ready in Swarm.
              </div>
            )}
            {c.status === "link_down" && (
              <div className="notice notice-warn" data-testid="link-down-notice">
                {CLUSTER_STATUS_MEANING.link_down} Deployments running there are not failed meanwhile; new ones wait for
                the agent.
              </div>
            )}
            {c.status === "revoked" && (
              <div className="notice">
                The agent’s credentials are revoked. Issue a new registration token to attach an agent again.
              </div>
            )}
            <section className="card">
              <h2>Facts</h2>
              <dl className="facts">
                {FACTS.map(([key, label]) => {
                  const value = factOf(c, key);
                  return value === null ? null : (
                    <div key={key}>
                      <dt>{label}</dt>
                      <dd>{value}</dd>
                    </div>
                  );
                })}
                <div>
                  <dt>Manager node</dt>
                  <dd>{c.facts.isManager === true ? "yes" : c.facts.isManager === false ? "no" : "—"}</dd>
                </div>
                <div>
                  <dt>Inventory</dt>
                  <dd>
                    <RelativeTime iso={c.inventoryAt} never="not reported yet" />
                  </dd>
                </div>
                <div>
                  <dt>Agent key</dt>
                  <dd className="mono small">{c.agentPublicKey ?? "—"}</dd>
                </div>
              </dl>
            </section>
          </>
        )}
      </AsyncContent>
      <section className="card">
        <h2>Nodes</h2>
        <AsyncContent
          state={props.nodes}
          loadingLabel="Loading nodes…"
          isEmpty={(n) => n.length === 0}
          empty={<p className="muted">The agent has not reported any Swarm nodes yet.</p>}
        >
          {(nodes) => (
            <>
              {props.nodeActions?.error}
              <NodesTable nodes={nodes} canWrite={props.canWrite} actions={props.nodeActions} />
            </>
          )}
        </AsyncContent>
      </section>
      {props.activity}
    </>
  );
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

export function formatResources(resources: Record<string, unknown>): string {
  const cpus = num(resources.nanoCpus);
  const mem = num(resources.memoryBytes);
  const parts = [];
  if (cpus !== null) parts.push(`${+(cpus / 1e9).toFixed(2)} CPU`);
  if (mem !== null) parts.push(`${+(mem / 2 ** 30).toFixed(1)} GiB`);
  return parts.join(" · ") || "—";
}

export interface NodeActions {
  /** The node whose change is on its way, if any. */
  busyNodeId: string | null;
  error?: ReactNode;
  onChange: (change: {
    nodeId: string;
    availability?: ClusterNode["availability"];
    labels?: Record<string, string>;
  }) => void;
}

const AVAILABILITIES: Array<ClusterNode["availability"]> = ["active", "pause", "drain"];

/** `k=v, k2=v2` ⇄ a label map; null when a pair has no key. */
export function parseLabels(text: string): Record<string, string> | null {
  const labels: Record<string, string> = {};
  for (const pair of text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf("=");
    const key = (eq < 0 ? pair : pair.slice(0, eq)).trim();
    if (!key) return null;
    labels[key] = eq < 0 ? "" : pair.slice(eq + 1).trim();
  }
  return labels;
}
const formatLabels = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");

function NodesTable(props: { nodes: ClusterNode[]; canWrite: boolean; actions?: NodeActions | undefined }) {
  const [editing, setEditing] = useState<{ nodeId: string; text: string } | null>(null);
  const editable = props.canWrite && props.actions !== undefined;
  return (
    <table className="table">
      <thead>
        <tr>
          <th>Hostname</th>
          <th>Role</th>
          <th>Availability</th>
          <th>Status</th>
          <th>Resources</th>
          <th>Engine</th>
          <th>Labels</th>
        </tr>
      </thead>
      <tbody>
        {props.nodes.map((n) => {
          const busy = props.actions?.busyNodeId === n.id;
          const labelsInvalid = editing?.nodeId === n.id && parseLabels(editing.text) === null;
          return (
            <tr key={n.id}>
              <td>
                {n.hostname}
                {typeof n.resources.address === "string" && <div className="muted small">{n.resources.address}</div>}
              </td>
              <td>{n.role}</td>
              <td>
                {editable ? (
                  <select
                    aria-label={`Availability of ${n.hostname}`}
                    value={n.availability}
                    disabled={busy}
                    onChange={(e) =>
                      props.actions?.onChange({
                        nodeId: n.id,
                        availability: e.target.value as ClusterNode["availability"],
                      })
                    }
                  >
                    {AVAILABILITIES.map((a) => (
                      <option key={a} value={a}>
                        {a}
                      </option>
                    ))}
                  </select>
                ) : (
                  <StatusBadge status={n.availability} />
                )}
              </td>
              <td>
                <StatusBadge status={n.status} />
              </td>
              <td>{formatResources(n.resources)}</td>
              <td>{typeof n.resources.engineVersion === "string" ? n.resources.engineVersion : "—"}</td>
              <td>
                {editing?.nodeId === n.id ? (
                  <form
                    onSubmit={(e) => {
                      e.preventDefault();
                      const labels = parseLabels(editing.text);
                      if (labels === null) return;
                      props.actions?.onChange({ nodeId: n.id, labels });
                      setEditing(null);
                    }}
                  >
                    <input
                      aria-label={`Labels of ${n.hostname}`}
                      value={editing.text}
                      placeholder="key=value, key2=value2"
                      aria-invalid={labelsInvalid}
                      onChange={(e) => setEditing({ nodeId: n.id, text: e.target.value })}
                    />
                    <button type="submit" disabled={labelsInvalid}>
                      Save labels
                    </button>
                    <button type="button" className="secondary" onClick={() => setEditing(null)}>
                      Cancel
                    </button>
                  </form>
                ) : (
                  <>
                    {Object.entries(n.labels).length === 0 ? (
                      <span className="muted">—</span>
                    ) : (
                      Object.entries(n.labels).map(([k, v]) => (
                        <span key={k} className="chip">
                          {k}={v}
                        </span>
                      ))
                    )}
                    {editable && (
                      <button
                        type="button"
                        className="secondary small"
                        disabled={busy}
                        onClick={() => setEditing({ nodeId: n.id, text: formatLabels(n.labels) })}
                      >
                        Edit labels
                      </button>
                    )}
                  </>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

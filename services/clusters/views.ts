/** Row → API shapes of clusters and nodes; status is derived from last_seen_at so it is right after restarts. */

/**
 * pending    no agent registered yet
 * online     heartbeats arrive; an active Swarm manager, every node ready
 * degraded   heartbeats arrive, but Docker, the Swarm or a node is not healthy (`unhealthyNodes`)
 * offline    no heartbeat for the threshold: a direct-mode agent not heard from (down, or its network), an agent that
 *            stopped on purpose, or a leaf-mode agent whose leaf still has a working link (the agent itself is down)
 * link_down  leaf mode only: no heartbeat, and the hub holds no working link from the cluster's leaf; the site may be
 *            running and buffering (leaf-status.ts)
 * revoked    the agent's credential was revoked
 */
export type ClusterStatus = "pending" | "online" | "degraded" | "offline" | "link_down" | "revoked";

export interface ClusterRow {
  id: string;
  org_id: string;
  name: string;
  agent_id: string | null;
  status: ClusterStatus;
  last_seen_at: Date | null;
  facts_json: Record<string, unknown>;
  created_at: Date;
  inventory_json: Record<string, unknown> | null;
  inventory_hash: string | null;
  inventory_at: Date | null;
  /** Not a column: the cluster's unacknowledged security warnings, selected by `withOpenWarnings`. */
  open_security_warnings?: number;
  /** Not a column: hostnames of the cluster's nodes that are not `ready`, selected by `withOpenWarnings`. */
  unhealthy_nodes?: string[];
}

export interface ClusterNodeRow {
  id: string;
  org_id: string;
  cluster_id: string;
  node_id: string;
  hostname: string;
  role: "manager" | "worker";
  availability: "active" | "pause" | "drain";
  status: "unknown" | "down" | "ready" | "disconnected";
  labels_json: Record<string, string>;
  resources_json: Record<string, unknown>;
  updated_at: Date;
}

/**
 * A heartbeat older than the threshold means offline, whatever the stored status says, until the offline sweep
 * (every 5 s) has decided otherwise: `link_down` is only ever the sweep's decision, from the hub's view of the link.
 */
export function effectiveStatus(
  row: Pick<ClusterRow, "status" | "last_seen_at">,
  offlineAfterSeconds: number,
  now = Date.now(),
): ClusterStatus {
  if (row.status === "revoked" || row.status === "pending" || row.status === "link_down") return row.status;
  if (!row.last_seen_at || now - row.last_seen_at.getTime() > offlineAfterSeconds * 1000) return "offline";
  return row.status;
}

export function clusterView(row: ClusterRow, offlineAfterSeconds: number, now = Date.now()) {
  return {
    id: row.id,
    orgId: row.org_id,
    name: row.name,
    status: effectiveStatus(row, offlineAfterSeconds, now),
    agentPublicKey: row.agent_id,
    lastSeenAt: row.last_seen_at?.toISOString() ?? null,
    facts: row.facts_json,
    inventoryAt: row.inventory_at?.toISOString() ?? null,
    openSecurityWarnings: row.open_security_warnings ?? 0,
    unhealthyNodes: row.unhealthy_nodes ?? [],
    createdAt: row.created_at.toISOString(),
  };
}
export type ClusterView = ReturnType<typeof clusterView>;

export const nodeView = (n: ClusterNodeRow) => ({
  id: n.id,
  nodeId: n.node_id,
  hostname: n.hostname,
  role: n.role,
  availability: n.availability,
  status: n.status,
  labels: n.labels_json,
  resources: n.resources_json,
  updatedAt: n.updated_at.toISOString(),
});

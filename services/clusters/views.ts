/** Row → API shapes of clusters and nodes; status is derived from last_seen_at so it is right after restarts. */

export type ClusterStatus = "pending" | "online" | "degraded" | "offline" | "revoked";

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

/** A heartbeat older than the threshold means offline, whatever the stored status says. */
export function effectiveStatus(
  row: Pick<ClusterRow, "status" | "last_seen_at">,
  offlineAfterSeconds: number,
  now = Date.now(),
): ClusterStatus {
  if (row.status === "revoked" || row.status === "pending") return row.status;
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

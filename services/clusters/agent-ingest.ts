/**
 * Heartbeats and inventory from every agent, processed in batches: one UPDATE per flush however many agents
 * reported, inventory written only when its hash changed, offline status derived from last_seen_at by one
 * sweep query. Nothing here costs anything per idle agent. These are installation-wide system writes keyed by
 * the cluster id from the subject, which NATS permissions guarantee the agent cannot forge.
 */
import type { Db } from "../_shared/db.js";
import { recordHeartbeat } from "../_shared/metrics.js";
import type { Heartbeat, Inventory, InventoryNode } from "../../nats/protocol/messages.js";
import type { ClusterNodeRow } from "./views.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const isClusterId = (value: string): boolean => UUID.test(value);

/**
 * A manager that answers is not enough for `online`: every Swarm node must be `ready` in the last inventory.
 * A node down or disconnected (a worker lost, a daemon killed) turns the cluster `degraded`; `unhealthyNodes` in
 * the API names it. Drained or paused nodes are the operator's choice and do not count.
 */
const NODE_AWARE_STATUS = (engineStatus: string): string =>
  `CASE WHEN ${engineStatus} = 'online' AND EXISTS (SELECT 1 FROM cluster_nodes n
                                                     WHERE n.cluster_id = c.id AND n.status <> 'ready')
        THEN 'degraded' ELSE ${engineStatus} END`;

/** What the engine facts alone say (the heartbeat's), before the nodes are considered. */
export function heartbeatStatus(hb: Heartbeat): "online" | "degraded" {
  const d = hb.docker;
  return d && d.swarmState === "active" && d.isManager ? "online" : "degraded";
}

/** A cluster whose derived status just changed (heartbeat flush or offline sweep). */
export interface ClusterStatusChange {
  id: string;
  org_id: string;
  status: string;
  previous_status: string;
  last_seen_at: Date | null;
}

export class HeartbeatBatcher {
  private pending = new Map<string, { seenAt: Date; status: "online" | "degraded"; facts: Record<string, unknown> }>();

  constructor(
    private readonly db: Db,
    private readonly onStatusChange?: (changes: ClusterStatusChange[]) => void,
  ) {}

  add(clusterId: string, hb: Heartbeat, receivedAt = new Date()): void {
    recordHeartbeat(hb.sentAt, receivedAt);
    this.pending.set(clusterId, {
      seenAt: receivedAt,
      status: heartbeatStatus(hb),
      facts: {
        ...(hb.docker ?? {}),
        dockerError: hb.dockerError,
        hostname: hb.hostname,
        agentVersion: hb.agentVersion,
        uptimeSeconds: hb.uptimeSeconds,
        // How the agent reaches the hub: a silent leaf-mode agent is told apart by its leaf's link (leaf-status.ts).
        natsMode: hb.natsMode ?? "direct",
        // A heartbeat after a goodbye: the agent runs again.
        goodbyeAt: null,
        // When this agent process started, on the control plane's clock (the agent's own may be skewed): a
        // RUNNING deployment older than it was lost with the previous process (failStaleDeployments).
        agentStartedAt: new Date(receivedAt.getTime() - Math.max(0, hb.sentAt - hb.startedAt)).toISOString(),
      },
    });
  }

  /** Drops a cluster's unwritten heartbeat (it said goodbye after sending it). */
  forget(clusterId: string): void {
    this.pending.delete(clusterId);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Writes every pending heartbeat in one statement; returns how many clusters were touched. */
  async flush(): Promise<number> {
    if (this.pending.size === 0) return 0;
    const batch = this.pending;
    this.pending = new Map();
    const ids = [...batch.keys()];
    const values = [...batch.values()];
    // `before` reads the statuses as they were: a change of status (offline → online, say) is announced.
    const result = await this.db.raw(
      `WITH v AS (SELECT unnest(?::uuid[]) AS id, unnest(?::timestamptz[]) AS seen_at,
                         unnest(?::text[]) AS status, unnest(?::jsonb[]) AS facts),
            before AS (SELECT c.id, c.status FROM clusters c JOIN v ON v.id = c.id)
       UPDATE clusters c
          SET last_seen_at = v.seen_at, status = ${NODE_AWARE_STATUS("v.status")}, facts_json = c.facts_json || v.facts
         FROM v JOIN before b ON b.id = v.id
        WHERE c.id = v.id AND c.status <> 'revoked' AND c.agent_id IS NOT NULL
          -- a heartbeat older than the agent's goodbye (another instance may still hold one) stays unwritten
          AND NOT (c.status = 'offline' AND c.last_seen_at IS NOT NULL AND c.last_seen_at >= v.seen_at)
       RETURNING c.id, c.org_id, c.status, b.status AS previous_status, c.last_seen_at`,
      [
        ids,
        values.map((v) => v.seenAt.toISOString()),
        values.map((v) => v.status),
        values.map((v) => JSON.stringify(v.facts)),
      ],
    );
    const rows = (result as { rows: ClusterStatusChange[] }).rows;
    const changed = rows.filter((r) => r.status !== r.previous_status);
    if (changed.length > 0) this.onStatusChange?.(changed);
    return (result as { rowCount: number }).rowCount;
  }
}

/**
 * An agent stopping on purpose: its cluster is offline now, seen last now (the "offline since" the API shows).
 * Returns the change to announce, or nothing when it was not online (or belongs to no registered agent).
 */
export async function recordGoodbye(db: Db, clusterId: string): Promise<ClusterStatusChange[]> {
  const result = await db.raw(
    `WITH before AS (SELECT id, status FROM clusters
                      WHERE id = ? AND status IN ('online', 'degraded') AND agent_id IS NOT NULL FOR UPDATE)
     UPDATE clusters c SET status = 'offline', last_seen_at = now(),
                           -- stopped on purpose: offline, never link_down, whatever its leaf's link does after
                           facts_json = c.facts_json || jsonb_build_object('goodbyeAt', now())
       FROM before b WHERE c.id = b.id
     RETURNING c.id, c.org_id, c.status, b.status AS previous_status, c.last_seen_at`,
    [clusterId],
  );
  return (result as { rows: ClusterStatusChange[] }).rows;
}

/**
 * A cluster whose agent last said it runs in leaf mode and did not say goodbye: when it goes silent, its status
 * depends on its leaf's link to the hub (leaf-status.ts), not on the heartbeat alone.
 */
export const SILENT_LEAF_CLUSTER = `(coalesce(facts_json->>'natsMode', '') = 'leaf' AND facts_json->>'goodbyeAt' IS NULL)`;

/**
 * Marks clusters offline whose heartbeat is older than the threshold (one query for all clusters); leaf-mode
 * clusters are left to sweepLeafClusters, which asks the hub about their link.
 */
export async function sweepOffline(db: Db, offlineAfterSeconds: number): Promise<ClusterStatusChange[]> {
  const result = await db.raw(
    `WITH stale AS (SELECT id, status FROM clusters
                     WHERE status IN ('online', 'degraded') AND last_seen_at < now() - make_interval(secs => ?)
                       AND NOT ${SILENT_LEAF_CLUSTER}
                     FOR UPDATE)
     UPDATE clusters c SET status = 'offline' FROM stale s WHERE c.id = s.id
     RETURNING c.id, c.org_id, c.status, s.status AS previous_status, c.last_seen_at`,
    [offlineAfterSeconds],
  );
  return (result as { rows: ClusterStatusChange[] }).rows;
}

function nodeRowValues(n: InventoryNode) {
  return {
    hostname: n.hostname,
    role: n.role,
    availability: n.availability,
    status: n.status,
    labels_json: n.labels,
    resources_json: {
      nanoCpus: n.nanoCpus,
      memoryBytes: n.memoryBytes,
      engineVersion: n.engineVersion,
      address: n.address,
    },
  };
}

const sameNode = (row: ClusterNodeRow, values: ReturnType<typeof nodeRowValues>): boolean =>
  row.hostname === values.hostname &&
  row.role === values.role &&
  row.availability === values.availability &&
  row.status === values.status &&
  JSON.stringify(row.labels_json) === JSON.stringify(values.labels_json) &&
  JSON.stringify(row.resources_json) === JSON.stringify(values.resources_json);

export interface InventoryOutcome {
  changed: boolean;
  /** The cluster's status when the new node list changed it (a node went down or came back). */
  statusChange: ClusterStatusChange | null;
  nodesInserted: number;
  nodesUpdated: number;
  nodesRemoved: number;
}

/** Stores an inventory when it differs from the last one: nodes upserted by diff, departed nodes removed. */
export async function applyInventory(db: Db, clusterId: string, inventory: Inventory): Promise<InventoryOutcome> {
  return db.transaction(async (trx) => {
    const cluster = await trx("clusters")
      .where({ id: clusterId })
      .whereNot({ status: "revoked" })
      .forUpdate()
      .first<{ org_id: string; inventory_hash: string | null } | undefined>("org_id", "inventory_hash");
    const none: InventoryOutcome = {
      changed: false,
      statusChange: null,
      nodesInserted: 0,
      nodesUpdated: 0,
      nodesRemoved: 0,
    };
    if (!cluster || cluster.inventory_hash === inventory.hash) return none;
    await trx("clusters")
      .where({ id: clusterId })
      .update({
        inventory_json: JSON.stringify({
          services: inventory.services,
          stacks: inventory.stacks,
          collectedAt: inventory.collectedAt,
        }),
        inventory_hash: inventory.hash,
        inventory_at: trx.fn.now(),
      });
    const existing = (await trx<ClusterNodeRow>("cluster_nodes").where({ cluster_id: clusterId })) as ClusterNodeRow[];
    const byNodeId = new Map(existing.map((r) => [r.node_id, r]));
    const outcome = { ...none, changed: true };
    for (const node of inventory.nodes) {
      const values = nodeRowValues(node);
      const row = byNodeId.get(node.id);
      byNodeId.delete(node.id);
      if (!row) {
        await trx("cluster_nodes").insert({
          ...values,
          labels_json: JSON.stringify(values.labels_json),
          resources_json: JSON.stringify(values.resources_json),
          org_id: cluster.org_id,
          cluster_id: clusterId,
          node_id: node.id,
        });
        outcome.nodesInserted++;
      } else if (!sameNode(row, values)) {
        await trx("cluster_nodes")
          .where({ id: row.id })
          .update({
            ...values,
            labels_json: JSON.stringify(values.labels_json),
            resources_json: JSON.stringify(values.resources_json),
            updated_at: trx.fn.now(),
          });
        outcome.nodesUpdated++;
      }
    }
    if (byNodeId.size > 0) {
      await trx("cluster_nodes")
        .whereIn(
          "id",
          [...byNodeId.values()].map((r) => r.id),
        )
        .delete();
      outcome.nodesRemoved = byNodeId.size;
    }
    if (outcome.nodesInserted + outcome.nodesUpdated + outcome.nodesRemoved > 0) {
      outcome.statusChange = await restatusFromNodes(trx, clusterId);
    }
    return outcome;
  });
}

/**
 * Re-derives an online/degraded cluster's status from its nodes at once, without waiting for the next heartbeat,
 * when the engine facts of the last heartbeat were healthy (an active Swarm manager that answered): then the
 * nodes are the only thing that decides. Null when the status did not change.
 */
async function restatusFromNodes(trx: Db, clusterId: string): Promise<ClusterStatusChange | null> {
  const result = await trx.raw(
    `WITH before AS (SELECT id, status FROM clusters WHERE id = ? FOR UPDATE)
     UPDATE clusters c SET status = ${NODE_AWARE_STATUS("'online'")}
       FROM before b
      WHERE c.id = b.id AND c.status IN ('online', 'degraded') AND c.agent_id IS NOT NULL
        AND c.facts_json->>'dockerError' IS NULL AND c.facts_json->>'swarmState' = 'active'
        AND c.facts_json->>'isManager' = 'true'
     RETURNING c.id, c.org_id, c.status, b.status AS previous_status, c.last_seen_at`,
    [clusterId],
  );
  const row = (result as { rows: ClusterStatusChange[] }).rows[0];
  return row && row.status !== row.previous_status ? row : null;
}

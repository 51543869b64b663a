/**
 * The status of a leaf-mode cluster whose agent went silent (no heartbeat for the offline threshold, no goodbye):
 *
 *   link_down  the hub holds no working link from the cluster's leaf (leaf-links.ts). The hub cannot see the site;
 *              the agent may be running and buffering (a deploy in progress goes on, and its events arrive once,
 *              in order, when the link returns) or the whole site may be down: which one, only the link's return
 *              tells.
 *   offline    the leaf's link to the hub works, yet the agent is silent: the agent itself is down (its leaf
 *              outlived it). Nothing is buffered for a stopped agent.
 *
 * When the hub cannot be asked (system connection down, CONNZ refused), nothing is known about the link: a cluster
 * that was online turns offline (what "not heard from" always meant), one already offline or link_down stays so.
 * Direct-mode clusters, and leaf-mode ones that said goodbye, are swept by agent-ingest.ts sweepOffline.
 */
import type { Db } from "../_shared/db.js";
import { SILENT_LEAF_CLUSTER, type ClusterStatusChange } from "./agent-ingest.js";

export interface SilentLeafCluster {
  id: string;
  agent_id: string;
  status: "online" | "degraded" | "offline" | "link_down";
}

/** The status a silent leaf cluster should have, given the keys with a working leaf link (null: not known). */
export function silentLeafStatus(
  cluster: SilentLeafCluster,
  workingLinks: ReadonlySet<string> | null,
): "offline" | "link_down" {
  if (workingLinks === null) return cluster.status === "link_down" ? "link_down" : "offline";
  return workingLinks.has(cluster.agent_id) ? "offline" : "link_down";
}

const STALE = "last_seen_at < now() - make_interval(secs => ?)";

/**
 * Re-decides every silent leaf cluster (one query, then one hub listing when there is any, then one update).
 * `workingLinks` is asked only when a silent leaf cluster exists; its failure is reported to `onUnknown`.
 */
export async function sweepLeafClusters(
  db: Db,
  offlineAfterSeconds: number,
  workingLinks: () => Promise<ReadonlySet<string>>,
  onUnknown: (error: unknown) => void,
): Promise<ClusterStatusChange[]> {
  const silent = (
    (await db.raw(
      `SELECT id, agent_id, status FROM clusters
        WHERE status IN ('online', 'degraded', 'offline', 'link_down') AND agent_id IS NOT NULL
          AND ${STALE} AND ${SILENT_LEAF_CLUSTER}`,
      [offlineAfterSeconds],
    )) as { rows: SilentLeafCluster[] }
  ).rows;
  if (silent.length === 0) return [];
  let links: ReadonlySet<string> | null;
  try {
    links = await workingLinks();
  } catch (err) {
    onUnknown(err);
    links = null;
  }
  const moves = silent.map((c) => ({ c, to: silentLeafStatus(c, links) })).filter(({ c, to }) => c.status !== to);
  if (moves.length === 0) return [];
  // Only rows still as read: a heartbeat that came in meanwhile (or a revocation) wins.
  const result = await db.raw(
    `WITH v AS (SELECT unnest(?::uuid[]) AS id, unnest(?::text[]) AS expected, unnest(?::text[]) AS status),
          before AS (SELECT c.id, c.status FROM clusters c JOIN v ON v.id = c.id
                      WHERE c.status = v.expected AND c.${STALE} FOR UPDATE OF c)
     UPDATE clusters c SET status = v.status FROM v JOIN before b ON b.id = v.id
      WHERE c.id = v.id
     RETURNING c.id, c.org_id, c.status, b.status AS previous_status, c.last_seen_at`,
    [moves.map((m) => m.c.id), moves.map((m) => m.c.status), moves.map((m) => m.to), offlineAfterSeconds],
  );
  return (result as { rows: ClusterStatusChange[] }).rows;
}

/** Scrape-time samples of the `stackyard_clusters` gauge (services/_shared/metrics.ts). */
import type { Db } from "../_shared/db.js";
import type { GaugeSample } from "../_shared/metrics.js";
import type { ClusterStatus } from "./views.js";

const STATUSES: readonly ClusterStatus[] = ["pending", "online", "degraded", "offline", "link_down", "revoked"];

/**
 * Clusters per status, across every org, with the status the API shows: a heartbeat older than the threshold is
 * offline even before the sweep has written it (views.ts effectiveStatus). Every status is present, zero included,
 * so an alert on `stackyard_clusters{status="offline"} > 0` has a series to read.
 */
export async function clusterStatusSamples(db: Db, offlineAfterSeconds: number): Promise<GaugeSample[]> {
  const rows = (await db.raw(
    `SELECT CASE WHEN status IN ('online', 'degraded')
                   AND (last_seen_at IS NULL OR last_seen_at < now() - make_interval(secs => ?))
                 THEN 'offline' ELSE status END AS status,
            count(*)::int AS n
       FROM clusters GROUP BY 1`,
    [offlineAfterSeconds],
  )) as { rows: Array<{ status: string; n: number }> };
  const counts = new Map(rows.rows.map((r) => [r.status, r.n]));
  return STATUSES.map((status) => ({ labels: { status }, value: counts.get(status) ?? 0 }));
}

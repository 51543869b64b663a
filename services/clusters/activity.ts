/**
 * Cluster activity: the Docker events agents report (service, task and node events), persisted per cluster in
 * batches (one INSERT per flush whatever the number of agents), bounded by a retention job (newest N rows per
 * cluster, nothing older than the max age) and read back newest first, a page at a time.
 */
import type { Db } from "../_shared/db.js";
import type { TenantScope } from "../_shared/tenant.js";
import type { DockerEvent, DockerEventType } from "../../nats/protocol/messages.js";
import { findCluster } from "./clusters.logic.js";

/** Events waiting for the next flush; past this the oldest are dropped (and counted) rather than grow memory. */
export const MAX_PENDING_ACTIVITY = 10_000;

export interface ClusterActivityRow {
  id: string;
  org_id: string;
  cluster_id: string;
  ts: Date;
  received_at: Date;
  type: DockerEventType;
  action: string;
  object_id: string;
  name: string | null;
}

export const activityView = (r: ClusterActivityRow) => ({
  id: String(r.id),
  clusterId: r.cluster_id,
  ts: r.ts.toISOString(),
  receivedAt: r.received_at.toISOString(),
  type: r.type,
  action: r.action,
  objectId: r.object_id,
  name: r.name,
});
export type ClusterActivityView = ReturnType<typeof activityView>;

export class ActivityBatcher {
  private pending: DockerEvent[] = [];
  /** Events dropped because the buffer was full, since the service started. */
  dropped = 0;

  constructor(private readonly db: Db) {}

  add(event: DockerEvent): void {
    if (this.pending.length >= MAX_PENDING_ACTIVITY) {
      this.pending.shift();
      this.dropped++;
    }
    this.pending.push(event);
  }

  get size(): number {
    return this.pending.length;
  }

  /**
   * Writes every pending event in one statement, stamped with its cluster's org; events of unknown or revoked
   * clusters are not written. Returns the stored rows, in the order received.
   */
  async flush(): Promise<ClusterActivityRow[]> {
    if (this.pending.length === 0) return [];
    const batch = this.pending;
    this.pending = [];
    const result = await this.db.raw(
      `INSERT INTO cluster_activity (org_id, cluster_id, ts, type, action, object_id, name)
       SELECT c.org_id, c.id, v.ts, v.type, v.action, v.object_id, v.name
         FROM unnest(?::uuid[], ?::timestamptz[], ?::text[], ?::text[], ?::text[], ?::text[])
                WITH ORDINALITY AS v(cluster_id, ts, type, action, object_id, name, n)
         JOIN clusters c ON c.id = v.cluster_id AND c.status <> 'revoked'
        ORDER BY v.n
       RETURNING *`,
      [
        batch.map((e) => e.clusterId),
        batch.map((e) => new Date(e.ts).toISOString()),
        batch.map((e) => e.type),
        batch.map((e) => e.action),
        batch.map((e) => e.id),
        // knex's binding types know no nullable arrays; pg sends null elements as SQL NULL.
        batch.map((e) => e.name) as string[],
      ],
    );
    return (result as { rows: ClusterActivityRow[] }).rows;
  }
}

export interface ActivityRetention {
  maxRowsPerCluster: number;
  maxAgeSeconds: number;
}

/** The retention job: one statement for the age limit, one for every cluster's row cap. Returns rows deleted. */
export async function pruneActivity(db: Db, retention: ActivityRetention): Promise<number> {
  const aged = await db("cluster_activity")
    .where("received_at", "<", db.raw("now() - make_interval(secs => ?)", [retention.maxAgeSeconds]))
    .delete();
  const capped = await db.raw(
    `DELETE FROM cluster_activity a
      USING (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY cluster_id ORDER BY id DESC) AS rn
                               FROM cluster_activity) ranked
              WHERE rn > ?) old
      WHERE a.id = old.id`,
    [retention.maxRowsPerCluster],
  );
  return aged + (capped as { rowCount: number }).rowCount;
}

export interface ActivityPage {
  items: ClusterActivityView[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  nextBefore: string | null;
}

/** Newest first; `before` is the id of the oldest item of the previous page. */
export async function listActivity(
  scope: TenantScope,
  clusterId: string,
  page: { limit: number; before?: string | undefined },
): Promise<ActivityPage> {
  await findCluster(scope, clusterId);
  const q = scope
    .from<ClusterActivityRow>("cluster_activity")
    .where({ cluster_id: clusterId })
    .orderBy("id", "desc")
    .limit(page.limit + 1);
  if (page.before !== undefined) q.where("id", "<", page.before);
  const rows = (await q) as ClusterActivityRow[];
  const items = rows.slice(0, page.limit).map(activityView);
  return { items, nextBefore: rows.length > page.limit ? (items.at(-1)?.id ?? null) : null };
}

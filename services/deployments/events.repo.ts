/** deployment_events: idempotent on (deployment_id, seq); read back in seq order. */
import type { Knex } from "knex";
import type { TenantScope } from "../_shared/tenant.js";
import { eventView, type DeploymentEventRow, type DeploymentEventView } from "./views.js";

export interface NewEvent {
  seq: number;
  ts?: Date;
  level: "debug" | "info" | "warn" | "error";
  message: string;
  data?: Record<string, unknown>;
}

/** Inserts events, ignoring any (deployment, seq) already stored; returns the ones actually inserted. */
export async function insertEvents(
  db: Knex | Knex.Transaction,
  orgId: string,
  deploymentId: string,
  events: NewEvent[],
): Promise<DeploymentEventView[]> {
  const stored = await insertEventsOfDeployments(db, [{ orgId, deploymentId, events }]);
  return stored.get(deploymentId) ?? [];
}

/** Rows per INSERT: one statement never holds the table's index locks for long. */
const INSERT_CHUNK_ROWS = 5_000;

/**
 * The events of several deployments in as few statements as possible (the event writer's hot path: one round trip
 * for a whole batch instead of one transaction per deployment), ignoring any (deployment, seq) already stored.
 * The rows travel as one JSON parameter expanded by Postgres (`jsonb_to_recordset`): binding seven parameters a
 * row made knex and pg spend longer on the bindings than Postgres on the insert. Returns, per deployment, the
 * events actually inserted, in seq order.
 */
export async function insertEventsOfDeployments(
  db: Knex | Knex.Transaction,
  groups: Array<{ orgId: string; deploymentId: string; events: NewEvent[] }>,
): Promise<Map<string, DeploymentEventView[]>> {
  const rows = groups.flatMap((g) =>
    g.events.map((e) => ({
      org_id: g.orgId,
      deployment_id: g.deploymentId,
      seq: e.seq,
      ts: (e.ts ?? new Date()).toISOString(),
      level: e.level,
      message: e.message,
      data_json: e.data ?? {},
    })),
  );
  const stored = new Map<string, DeploymentEventView[]>();
  for (let i = 0; i < rows.length; i += INSERT_CHUNK_ROWS) {
    const chunk = rows.slice(i, i + INSERT_CHUNK_ROWS);
    const result = await db.raw<{ rows: Array<{ deployment_id: string; seq: string }> }>(
      `insert into deployment_events (org_id, deployment_id, seq, ts, level, message, data_json)
       select org_id, deployment_id, seq, ts, level, message, data_json
         from jsonb_to_recordset(?::jsonb)
           as r(org_id uuid, deployment_id uuid, seq bigint, ts timestamptz, level text, message text, data_json jsonb)
       on conflict (deployment_id, seq) do nothing
       returning deployment_id, seq`,
      [JSON.stringify(chunk)],
    );
    const byKey = new Map(chunk.map((r) => [`${r.deployment_id}:${r.seq}`, r]));
    for (const { deployment_id, seq } of result.rows) {
      const row = byKey.get(`${deployment_id}:${Number(seq)}`)!;
      const list = stored.get(deployment_id) ?? [];
      list.push({ seq: row.seq, ts: row.ts, level: row.level, message: row.message, data: row.data_json });
      stored.set(deployment_id, list);
    }
  }
  for (const list of stored.values()) list.sort((a, b) => a.seq - b.seq);
  return stored;
}

/** Serialises the control plane's writers of one deployment's events until the transaction ends. */
export async function lockDeploymentEvents(trx: Knex | Knex.Transaction, deploymentId: string): Promise<void> {
  await trx.raw("select pg_advisory_xact_lock(hashtext(?))", [deploymentId]);
}

/**
 * Appends control-plane events after everything stored so far. The agent numbers its events itself, from the
 * `firstSeq` after the dispatching event (dispatch.ts): so nothing is appended between the dispatch and the
 * agent's terminal event except an ending the control plane decides because the agent is gone.
 */
export async function appendEvents(
  trx: Knex | Knex.Transaction,
  orgId: string,
  deploymentId: string,
  events: Omit<NewEvent, "seq">[],
): Promise<DeploymentEventView[]> {
  await lockDeploymentEvents(trx, deploymentId);
  const next = await nextSeq(trx, deploymentId);
  return insertEvents(
    trx,
    orgId,
    deploymentId,
    events.map((e, i) => ({ ...e, seq: next + i })),
  );
}

export async function nextSeq(db: Knex | Knex.Transaction, deploymentId: string): Promise<number> {
  const [row] = (await db("deployment_events").where({ deployment_id: deploymentId }).max("seq as max")) as Array<{
    max: string | null;
  }>;
  return row?.max === null || row?.max === undefined ? 0 : Number(row.max) + 1;
}

export async function listEvents(
  scope: TenantScope,
  deploymentId: string,
  afterSeq: number | null,
  limit: number,
): Promise<DeploymentEventView[]> {
  const q = scope.from<DeploymentEventRow>("deployment_events").where({ deployment_id: deploymentId });
  if (afterSeq !== null) q.where("seq", ">", afterSeq);
  const rows = (await q.orderBy("seq", "asc").limit(limit)) as DeploymentEventRow[];
  return rows.map(eventView);
}

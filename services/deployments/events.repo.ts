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
  if (events.length === 0) return [];
  const rows = (await db("deployment_events")
    .insert(
      events.map((e) => ({
        org_id: orgId,
        deployment_id: deploymentId,
        seq: e.seq,
        ts: e.ts ?? new Date(),
        level: e.level,
        message: e.message,
        data_json: JSON.stringify(e.data ?? {}),
      })),
    )
    .onConflict(["deployment_id", "seq"])
    .ignore()
    .returning("*")) as DeploymentEventRow[];
  return rows.map(eventView).sort((a, b) => a.seq - b.seq);
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

/** release_builds and release_build_events: a build's row and its output, read through the tenant scope. */
import type { Knex } from "knex";
import { NotFoundError } from "../../_shared/errors.js";
import type { TenantScope } from "../../_shared/tenant.js";
import type { NewEvent } from "../events.repo.js";
import type { DeploymentEventView } from "../views.js";

export type BuildStatus = "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELED";
export const TERMINAL_BUILD_STATUSES: readonly BuildStatus[] = ["SUCCEEDED", "FAILED", "CANCELED"];

export interface BuildRow {
  id: string;
  org_id: string;
  release_id: string;
  environment_id: string;
  cluster_id: string;
  status: BuildStatus;
  commit: string;
  registry: string;
  images: Record<string, string> | null;
  error_message: string | null;
  error_code: string | null;
  failed_service: string | null;
  failed_step: string | null;
  created_by: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

interface BuildEventRow {
  seq: string | number;
  ts: Date;
  level: "debug" | "info" | "warn" | "error";
  message: string;
  data_json: Record<string, unknown>;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const buildView = (b: BuildRow) => ({
  id: b.id,
  releaseId: b.release_id,
  environmentId: b.environment_id,
  status: b.status,
  commit: b.commit,
  registry: b.registry,
  images: b.images,
  errorMessage: b.error_message,
  errorCode: b.error_code,
  failedService: b.failed_service,
  failedStep: b.failed_step,
  createdBy: b.created_by,
  createdAt: b.created_at.toISOString(),
  startedAt: iso(b.started_at),
  finishedAt: iso(b.finished_at),
});
export type BuildView = ReturnType<typeof buildView>;

const eventOf = (e: BuildEventRow): DeploymentEventView => ({
  seq: Number(e.seq),
  ts: e.ts.toISOString(),
  level: e.level,
  message: e.message,
  data: e.data_json,
});

export async function findBuild(scope: TenantScope, buildId: string): Promise<BuildRow> {
  const row = (await scope.from("release_builds").where({ id: buildId }).first()) as BuildRow | undefined;
  if (!row) throw new NotFoundError("BUILD_NOT_FOUND", "no such build");
  return row;
}

/** Inserts events, ignoring any (build, seq) already stored; returns the ones actually inserted, in seq order. */
export async function insertBuildEvents(
  db: Knex | Knex.Transaction,
  orgId: string,
  buildId: string,
  events: NewEvent[],
): Promise<DeploymentEventView[]> {
  if (events.length === 0) return [];
  const rows = (await db("release_build_events")
    .insert(
      events.map((e) => ({
        org_id: orgId,
        build_id: buildId,
        seq: e.seq,
        ts: e.ts ?? new Date(),
        level: e.level,
        message: e.message,
        data_json: JSON.stringify(e.data ?? {}),
      })),
    )
    .onConflict(["build_id", "seq"])
    .ignore()
    .returning("*")) as BuildEventRow[];
  return rows.map(eventOf).sort((a, b) => a.seq - b.seq);
}

/** Appends control-plane events after everything stored so far (under a lock on the build's events). */
export async function appendBuildEvents(
  trx: Knex | Knex.Transaction,
  orgId: string,
  buildId: string,
  events: Omit<NewEvent, "seq">[],
): Promise<DeploymentEventView[]> {
  await trx.raw("select pg_advisory_xact_lock(hashtext(?))", [buildId]);
  const [row] = (await trx("release_build_events").where({ build_id: buildId }).max("seq as max")) as Array<{
    max: string | null;
  }>;
  const next = row?.max === null || row?.max === undefined ? 0 : Number(row.max) + 1;
  return insertBuildEvents(
    trx,
    orgId,
    buildId,
    events.map((e, i) => ({ ...e, seq: next + i })),
  );
}

export async function listBuildEvents(
  scope: TenantScope,
  buildId: string,
  afterSeq: number | null,
  limit: number,
): Promise<DeploymentEventView[]> {
  const q = scope.from("release_build_events").where({ build_id: buildId });
  if (afterSeq !== null) q.where("seq", ">", afterSeq);
  return (
    (await q.orderBy("seq").limit(limit).select("seq", "ts", "level", "message", "data_json")) as BuildEventRow[]
  ).map(eventOf);
}

/**
 * The audit log: written inside the same transaction as the change it records, read newest first with
 * keyset (cursor) pagination.
 */
import { afterCommit } from "../_shared/after-commit.js";
import { BadRequestError } from "../_shared/errors.js";
import { integrationEnvelope, publishIntegrationEvent } from "../_shared/integration-events.js";
import { integrationSubjects } from "../../nats/protocol/integration-subjects.js";
import type { ActorType, Principal, RequestInfo } from "../_shared/principal.js";
import { redactSecrets } from "../_shared/redaction.js";
import type { TenantScope } from "../_shared/tenant.js";
import type { OpQuery } from "../_shared/rest.js";
import { withNames } from "./names.js";

export interface AuditEntry {
  actorType: ActorType;
  actorId: string | null;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  data?: Record<string, unknown>;
}

/** Drops anything that looks like a credential or secret value, at any depth (the same rule as the logs). */
export const redact = (data: unknown): unknown => redactSecrets(data);

export function actorOf(principal: Principal): Pick<AuditEntry, "actorType" | "actorId"> {
  return { actorType: principal.actorType, actorId: principal.actorId };
}

export async function recordAudit(scope: TenantScope, entry: AuditEntry, request: RequestInfo): Promise<void> {
  const [row] = (await scope
    .insert("audit_events", {
      actor_type: entry.actorType,
      actor_id: entry.actorId,
      action: entry.action,
      target_type: entry.targetType ?? null,
      target_id: entry.targetId ?? null,
      ip: request.ip,
      user_agent: request.userAgent?.slice(0, 512) ?? null,
      data_json: JSON.stringify(redact(entry.data ?? {})),
    })
    .returning("*")) as AuditRow[];
  // On the integration subjects once the change it records has committed (never for a rolled-back one).
  if (row) afterCommit(scope.db, () => publishAuditEvent(scope.orgId, auditEventView(row)));
}

export function auditEventView(r: AuditRow): AuditEventView {
  return {
    id: r.id,
    ts: r.ts.toISOString(),
    actorType: r.actor_type,
    actorId: r.actor_id,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    ip: r.ip,
    userAgent: r.user_agent,
    data: r.data_json,
  };
}

/** `stackyard.<orgId>.audit.<action>`: the same view as `GET /orgs/{orgId}/audit`. */
function publishAuditEvent(orgId: string, view: AuditEventView): void {
  publishIntegrationEvent(
    integrationSubjects.audit(orgId, view.action),
    integrationEnvelope(orgId, "audit.recorded", view),
  );
}

/** An entry as the audit page lists it: with the names of its actor and target where they can be found. */
export type NamedAuditEventView = AuditEventView & { actorName: string | null; targetName: string | null };

/** The query of `GET /orgs/{orgId}/audit` (from openapi.yaml), with the page size always set. */
export type AuditQuery = OpQuery<"listAudit"> & { limit: number };

export interface AuditEventView {
  id: string;
  ts: string;
  actorType: ActorType;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  userAgent: string | null;
  data: Record<string, unknown>;
}

interface AuditRow {
  id: string;
  ts: Date;
  actor_type: ActorType;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  user_agent: string | null;
  data_json: Record<string, unknown>;
}

function encodeCursor(row: { ts: Date; id: string }): string {
  return Buffer.from(JSON.stringify([row.ts.toISOString(), row.id])).toString("base64url");
}

function decodeCursor(cursor: string): { ts: string; id: string } {
  try {
    const [ts, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [unknown, unknown];
    if (typeof ts !== "string" || typeof id !== "string" || Number.isNaN(Date.parse(ts))) throw new Error("shape");
    return { ts, id };
  } catch {
    throw new BadRequestError("INVALID_CURSOR", "cursor is not one this API returned");
  }
}

export async function listAudit(
  scope: TenantScope,
  query: AuditQuery,
): Promise<{ items: NamedAuditEventView[]; nextCursor: string | null }> {
  const q = scope.from<AuditRow>("audit_events");
  if (query.from) q.where("ts", ">=", new Date(query.from));
  if (query.to) q.where("ts", "<", new Date(query.to));
  if (query.actor) q.where("actor_id", query.actor);
  if (query.targetType) q.where("target_type", query.targetType);
  if (query.targetId) q.where("target_id", query.targetId);
  if (query.action) {
    // "auth.*" filters a family of actions.
    if (query.action.endsWith(".*"))
      q.where("action", "like", `${query.action.slice(0, -1).replace(/[%_]/g, "\\$&")}%`);
    else q.where("action", query.action);
  }
  if (query.cursor) {
    const c = decodeCursor(query.cursor);
    q.whereRaw("(ts, id) < (?::timestamptz, ?::uuid)", [c.ts, c.id]);
  }
  const rows = (await q
    .orderBy([
      { column: "ts", order: "desc" },
      { column: "id", order: "desc" },
    ])
    .limit(query.limit + 1)) as AuditRow[];
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    items: await withNames(scope, page.map(auditEventView)),
    nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null,
  };
}

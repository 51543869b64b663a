/** The alert history: list (newest first, by time pages), acknowledge and silence, both audited. */
import { BadRequestError, NotFoundError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { OpQuery } from "../_shared/rest.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import { alertView, type AlertRow } from "./views.js";

export const DEFAULT_ALERT_PAGE = 50;

/** A time Postgres can store (a date-time the schema lets through may still be year 0 or beyond 294276). */
function timeOf(value: string, field: string): Date {
  const date = new Date(value);
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime()) || year < 1 || year > 9999) {
    throw new BadRequestError("ALERT_TIME_INVALID", `${field} is not a usable time`, { field });
  }
  return date;
}

export async function listAlerts(scope: TenantScope, query: OpQuery<"listAlerts">) {
  let q = scope
    .from<AlertRow>("alerts")
    .orderBy([
      { column: "alerts.fired_at", order: "desc" },
      { column: "alerts.id", order: "desc" },
    ])
    .limit(query.limit ?? DEFAULT_ALERT_PAGE);
  if (query.status) q = q.where("alerts.status", query.status);
  if (query.ruleId) q = q.where("alerts.rule_id", query.ruleId);
  if (query.before) q = q.where("alerts.fired_at", "<", timeOf(query.before, "before"));
  const rows = (await q) as AlertRow[];
  return { items: rows.map(alertView) };
}

async function lockAlert(scope: TenantScope, alertId: string): Promise<AlertRow> {
  const row = (await scope.from<AlertRow>("alerts").where("alerts.id", alertId).forUpdate().first()) as
    AlertRow | undefined;
  if (!row) throw new NotFoundError("ALERT_NOT_FOUND", "no such alert");
  return row;
}

export async function acknowledgeAlert(
  scope: TenantScope,
  principal: Principal,
  alertId: string,
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    const row = await lockAlert(tx, alertId);
    if (row.acknowledged_at) return alertView(row);
    const [updated] = (await tx
      .from<AlertRow>("alerts")
      .where("alerts.id", alertId)
      .update({
        acknowledged_at: tx.db.fn.now(),
        acknowledged_by_type: principal.actorType,
        acknowledged_by: principal.userId,
      })
      .returning("*")) as AlertRow[];
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "alert.acknowledge",
        targetType: "alert",
        targetId: alertId,
        data: { ruleName: row.rule_name, kind: row.kind, subject: row.subject, status: row.status },
      },
      request,
    );
    return alertView(updated!);
  });
}

/** Until a time; a time already past ends the silence. Later alerts of the same rule and subject inherit it. */
export async function silenceAlert(
  scope: TenantScope,
  principal: Principal,
  alertId: string,
  until: string,
  request: RequestInfo,
) {
  const untilDate = timeOf(until, "until");
  return scope.transaction(async (tx) => {
    const row = await lockAlert(tx, alertId);
    const ends = untilDate.getTime() <= Date.now();
    const [updated] = (await tx
      .from<AlertRow>("alerts")
      .where("alerts.id", alertId)
      .update({ silenced_until: ends ? null : untilDate, silenced_by: ends ? null : principal.userId })
      .returning("*")) as AlertRow[];
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: ends ? "alert.unsilence" : "alert.silence",
        targetType: "alert",
        targetId: alertId,
        data: { ruleName: row.rule_name, kind: row.kind, subject: row.subject, until: ends ? null : until },
      },
      request,
    );
    return alertView(updated!);
  });
}

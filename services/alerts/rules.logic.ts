/**
 * An org's alert rules: create, list, change, delete, each audited in its transaction. A rule routes to
 * notification endpoints of its own org (checked here) and to email recipients (refused when the control plane
 * has no SMTP relay). Recipients' addresses are not written to the audit log, only how many there are.
 */
import { randomUUID } from "node:crypto";
import { isUniqueViolation } from "../_shared/db.js";
import { ConflictError, NotFoundError, UnprocessableError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { OpBody } from "../_shared/rest.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import {
  DEFAULT_CERTIFICATE_DAYS,
  DEFAULT_RESTART_THRESHOLD,
  DEFAULT_RESTART_WINDOW_SECONDS,
  ruleView,
  type AlertRuleKind,
  type AlertRuleRow,
} from "./views.js";

export type CreateRuleInput = OpBody<"createAlertRule">;
export type UpdateRuleInput = OpBody<"updateAlertRule">;

export interface RuleDeps {
  /** Whether an SMTP relay is configured (ALERT_SMTP_HOST): without one, email recipients are refused. */
  emailConfigured: boolean;
}

const nameTaken = (name: string) =>
  new ConflictError("ALERT_RULE_NAME_TAKEN", `an alert rule named "${name}" already exists`, { field: "name" });

export async function findRule(scope: TenantScope, ruleId: string): Promise<AlertRuleRow> {
  const row = await scope.from<AlertRuleRow>("alert_rules").where("alert_rules.id", ruleId).first();
  if (!row) throw new NotFoundError("ALERT_RULE_NOT_FOUND", "no such alert rule");
  return row;
}

export async function listRules(scope: TenantScope) {
  const rows = await scope.from<AlertRuleRow>("alert_rules").orderBy("name");
  return { items: rows.map(ruleView) };
}

/** The threshold a kind counts with (null for kinds that count nothing). */
function thresholdOf(kind: AlertRuleKind, given: number | null | undefined): number | null {
  if (kind === "task_restart_loop") return given ?? DEFAULT_RESTART_THRESHOLD;
  if (kind === "certificate_expiring") return given ?? DEFAULT_CERTIFICATE_DAYS;
  return null;
}

async function checkRouting(
  scope: TenantScope,
  endpointIds: readonly string[] | undefined,
  emails: readonly string[] | undefined,
  deps: RuleDeps,
): Promise<void> {
  if (endpointIds && endpointIds.length > 0) {
    const found: Array<{ id: string }> = await scope
      .from("notification_endpoints")
      .whereIn("notification_endpoints.id", [...endpointIds])
      .select("notification_endpoints.id");
    const missing = endpointIds.filter((id) => !found.some((f) => f.id === id));
    if (missing.length > 0) {
      throw new UnprocessableError("ALERT_ENDPOINT_UNKNOWN", "no such notification endpoint in this org", {
        field: "endpointIds",
        endpointIds: missing,
      });
    }
  }
  if (emails && emails.length > 0 && !deps.emailConfigured) {
    throw new UnprocessableError(
      "ALERT_EMAIL_NOT_CONFIGURED",
      "the control plane has no SMTP relay for alert emails (ALERT_SMTP_HOST)",
      { field: "emailRecipients" },
    );
  }
}

async function checkScope(scope: TenantScope, clusterId: string | null, environmentId: string | null) {
  if (clusterId && !(await scope.from("clusters").where("clusters.id", clusterId).first("clusters.id"))) {
    throw new UnprocessableError("ALERT_SCOPE_UNKNOWN", "no such cluster in this org", { field: "clusterId" });
  }
  if (environmentId) {
    const env = (await scope
      .from("environments")
      .where("environments.id", environmentId)
      .first("environments.cluster_id")) as { cluster_id: string } | undefined;
    if (!env) {
      throw new UnprocessableError("ALERT_SCOPE_UNKNOWN", "no such environment in this org", {
        field: "environmentId",
      });
    }
    if (clusterId && env.cluster_id !== clusterId) {
      throw new UnprocessableError("ALERT_SCOPE_UNKNOWN", "the environment is not on that cluster", {
        field: "environmentId",
      });
    }
  }
}

export async function createRule(
  scope: TenantScope,
  principal: Principal,
  input: CreateRuleInput,
  deps: RuleDeps,
  request: RequestInfo,
) {
  const clusterId = input.clusterId ?? null;
  const environmentId = input.environmentId ?? null;
  await checkScope(scope, clusterId, environmentId);
  await checkRouting(scope, input.endpointIds, input.emailRecipients, deps);
  const id = randomUUID();
  const windowSeconds =
    input.windowSeconds ?? (input.kind === "task_restart_loop" ? DEFAULT_RESTART_WINDOW_SECONDS : 0);
  return scope.transaction(async (tx) => {
    let row: AlertRuleRow | undefined;
    try {
      [row] = (await tx
        .insert("alert_rules", {
          id,
          name: input.name,
          kind: input.kind,
          severity: input.severity,
          window_seconds: windowSeconds,
          quiet_seconds: input.quietSeconds ?? 0,
          threshold: thresholdOf(input.kind, input.threshold),
          cluster_id: clusterId,
          environment_id: environmentId,
          endpoint_ids: input.endpointIds ?? [],
          email_recipients: input.emailRecipients ?? [],
          enabled: input.enabled ?? true,
          created_by_type: principal.actorType,
          created_by: principal.userId,
        })
        .returning("*")) as AlertRuleRow[];
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(input.name);
      throw err;
    }
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "alert_rule.create",
        targetType: "alert_rule",
        targetId: id,
        data: {
          name: input.name,
          kind: input.kind,
          severity: input.severity,
          windowSeconds,
          endpointIds: input.endpointIds ?? [],
          emailRecipients: (input.emailRecipients ?? []).length,
        },
      },
      request,
    );
    return ruleView(row!);
  });
}

export async function updateRule(
  scope: TenantScope,
  principal: Principal,
  ruleId: string,
  input: UpdateRuleInput,
  deps: RuleDeps,
  request: RequestInfo,
) {
  await checkRouting(scope, input.endpointIds, input.emailRecipients, deps);
  return scope.transaction(async (tx) => {
    const before = await findRule(tx, ruleId);
    const changes = {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.severity !== undefined ? { severity: input.severity } : {}),
      ...(input.windowSeconds !== undefined ? { window_seconds: input.windowSeconds } : {}),
      ...(input.quietSeconds !== undefined ? { quiet_seconds: input.quietSeconds } : {}),
      ...(input.threshold !== undefined ? { threshold: thresholdOf(before.kind, input.threshold) } : {}),
      ...(input.endpointIds !== undefined ? { endpoint_ids: input.endpointIds } : {}),
      ...(input.emailRecipients !== undefined ? { email_recipients: input.emailRecipients } : {}),
      ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
    };
    let row: AlertRuleRow | undefined;
    try {
      [row] = (await tx
        .from<AlertRuleRow>("alert_rules")
        .where("alert_rules.id", ruleId)
        .update({ ...changes, updated_at: tx.db.fn.now() })
        .returning("*")) as AlertRuleRow[];
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(input.name ?? before.name);
      throw err;
    }
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "alert_rule.update",
        targetType: "alert_rule",
        targetId: ruleId,
        data: { name: row!.name, changed: Object.keys(input) },
      },
      request,
    );
    return ruleView(row!);
  });
}

export async function deleteRule(
  scope: TenantScope,
  principal: Principal,
  ruleId: string,
  request: RequestInfo,
): Promise<void> {
  await scope.transaction(async (tx) => {
    const row = await findRule(tx, ruleId);
    // A firing alert of a deleted rule would never resolve: it ends with its rule (and stays in the history).
    await tx
      .from("alerts")
      .where({ "alerts.rule_id": ruleId, "alerts.status": "firing" })
      .update({ status: "resolved", resolved_at: tx.db.fn.now() });
    await tx.from("alert_rules").where("alert_rules.id", ruleId).delete();
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "alert_rule.delete",
        targetType: "alert_rule",
        targetId: ruleId,
        data: { name: row.name, kind: row.kind },
      },
      request,
    );
  });
}

/** Rows and API views of alert rules and alerts (schemas AlertRule and Alert of openapi.yaml). */
import type { components } from "../../openapi/openapi.gen.js";

export type AlertRuleKind = components["schemas"]["AlertRuleKind"];
export type AlertSeverity = components["schemas"]["AlertSeverity"];
export type AlertRuleView = components["schemas"]["AlertRule"];
export type AlertView = components["schemas"]["Alert"];
export type AlertTransition = "firing" | "resolved";

export const ALERT_RULE_KINDS: readonly AlertRuleKind[] = [
  "deployment_failed",
  "drift_detected",
  "service_below_replicas",
  "task_restart_loop",
  "node_down",
  "cluster_offline",
  "certificate_expiring",
  "agent_refused_command",
];

/** Defaults of the kinds that count something: deaths within the window, days before expiry. */
export const DEFAULT_RESTART_THRESHOLD = 3;
export const DEFAULT_RESTART_WINDOW_SECONDS = 60;
export const DEFAULT_CERTIFICATE_DAYS = 14;

export interface AlertRuleRow {
  id: string;
  org_id: string;
  name: string;
  kind: AlertRuleKind;
  severity: AlertSeverity;
  window_seconds: number;
  quiet_seconds: number;
  threshold: number | null;
  cluster_id: string | null;
  environment_id: string | null;
  endpoint_ids: string[];
  email_recipients: string[];
  enabled: boolean;
  next_eval_at: Date;
  created_by_type: string;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface AlertRow {
  id: string;
  org_id: string;
  rule_id: string | null;
  rule_name: string;
  kind: AlertRuleKind;
  severity: AlertSeverity;
  subject: string;
  summary: string;
  details: Record<string, unknown>;
  status: AlertTransition;
  since: Date;
  fired_at: Date;
  resolved_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by_type: string | null;
  acknowledged_by: string | null;
  silenced_until: Date | null;
  silenced_by: string | null;
}

export function ruleView(row: AlertRuleRow): AlertRuleView {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    severity: row.severity,
    windowSeconds: row.window_seconds,
    quietSeconds: row.quiet_seconds,
    threshold: row.threshold,
    clusterId: row.cluster_id,
    environmentId: row.environment_id,
    endpointIds: row.endpoint_ids,
    emailRecipients: row.email_recipients,
    enabled: row.enabled,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function alertView(row: AlertRow): AlertView {
  return {
    id: row.id,
    ruleId: row.rule_id,
    ruleName: row.rule_name,
    kind: row.kind,
    severity: row.severity,
    subject: row.subject,
    summary: row.summary,
    details: row.details,
    status: row.status,
    since: row.since.toISOString(),
    firedAt: row.fired_at.toISOString(),
    resolvedAt: row.resolved_at?.toISOString() ?? null,
    acknowledgedAt: row.acknowledged_at?.toISOString() ?? null,
    acknowledgedBy: row.acknowledged_by,
    silencedUntil: row.silenced_until?.toISOString() ?? null,
  };
}

/**
 * Security warnings: every command an agent refused before running it (bad signature, another cluster's command,
 * expired, replayed, malformed ...) may be an attack on the cluster, so its report raises a warning on the cluster.
 * One open warning per cluster and refusal code counts its repeats (a flood is one row and one audit event);
 * an ORG_ADMIN or CLUSTER_ADMIN acknowledges it (audited), and the next refusal opens a new one.
 */
import { ConflictError, NotFoundError } from "../_shared/errors.js";
import type { Db } from "../_shared/db.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import { systemScope, type TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import type { CommandRejectionReport } from "../../nats/protocol/messages.js";
import { findCluster } from "./clusters.logic.js";

export interface SecurityWarningRow {
  id: string;
  org_id: string;
  cluster_id: string;
  code: string;
  reason: string;
  command_type: string | null;
  command_id: string | null;
  subject: string;
  count: number;
  first_seen_at: Date;
  last_seen_at: Date;
  acknowledged_at: Date | null;
  acknowledged_by_type: string | null;
  acknowledged_by: string | null;
}

export const securityWarningView = (r: SecurityWarningRow) => ({
  id: r.id,
  clusterId: r.cluster_id,
  code: r.code,
  reason: r.reason,
  commandType: r.command_type,
  commandId: r.command_id,
  subject: r.subject,
  count: r.count,
  firstSeenAt: r.first_seen_at.toISOString(),
  lastSeenAt: r.last_seen_at.toISOString(),
  acknowledgedAt: r.acknowledged_at?.toISOString() ?? null,
  acknowledgedBy: r.acknowledged_by,
});
export type SecurityWarningView = ReturnType<typeof securityWarningView>;

export interface RecordedRejection {
  orgId: string;
  warning: SecurityWarningView;
  /** True when this report opened the warning (and wrote its audit event). */
  opened: boolean;
}

/** Records a refusal report of the agent of `clusterId`; null when the cluster is unknown or revoked. */
export async function recordCommandRejection(
  db: Db,
  clusterId: string,
  report: CommandRejectionReport,
): Promise<RecordedRejection | null> {
  return db.transaction(async (trx) => {
    const cluster = await trx("clusters")
      .where({ id: clusterId })
      .whereNot({ status: "revoked" })
      .first<{ org_id: string; agent_id: string | null } | undefined>("org_id", "agent_id");
    if (!cluster) return null;
    const scope = systemScope(trx, cluster.org_id, "agent-ingest");
    const fields = {
      reason: report.reason,
      command_type: report.type,
      command_id: report.commandId,
      subject: report.subject.slice(0, 512),
    };
    const result = await trx.raw(
      `INSERT INTO cluster_security_warnings (org_id, cluster_id, code, reason, command_type, command_id, subject)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (cluster_id, code) WHERE acknowledged_at IS NULL
       DO UPDATE SET count = cluster_security_warnings.count + 1, last_seen_at = now(), reason = EXCLUDED.reason,
                     command_type = EXCLUDED.command_type, command_id = EXCLUDED.command_id,
                     subject = EXCLUDED.subject
       RETURNING *, (xmax = 0) AS opened`,
      [cluster.org_id, clusterId, report.code, fields.reason, fields.command_type, fields.command_id, fields.subject],
    );
    const row = (result as { rows: Array<SecurityWarningRow & { opened: boolean }> }).rows[0]!;
    if (row.opened) {
      await recordAudit(
        scope,
        {
          actorType: "agent",
          actorId: cluster.agent_id,
          action: "cluster.command_rejected",
          targetType: "cluster",
          targetId: clusterId,
          data: {
            warningId: row.id,
            code: report.code,
            reason: report.reason,
            commandType: report.type,
            commandId: report.commandId,
          },
        },
        { ip: null, userAgent: null },
      );
    }
    return { orgId: cluster.org_id, warning: securityWarningView(row), opened: row.opened };
  });
}

/** Open warnings first (newest first), then acknowledged ones, at most `limit`. */
export async function listSecurityWarnings(
  scope: TenantScope,
  clusterId: string,
  opts: { includeAcknowledged: boolean; limit: number },
): Promise<{ items: SecurityWarningView[] }> {
  await findCluster(scope, clusterId);
  const q = scope
    .from<SecurityWarningRow>("cluster_security_warnings")
    .where({ cluster_id: clusterId })
    .orderByRaw("acknowledged_at IS NOT NULL, last_seen_at DESC")
    .limit(opts.limit);
  if (!opts.includeAcknowledged) q.whereNull("acknowledged_at");
  const rows = (await q) as SecurityWarningRow[];
  return { items: rows.map(securityWarningView) };
}

export async function acknowledgeSecurityWarning(
  scope: TenantScope,
  principal: Principal,
  clusterId: string,
  warningId: string,
  request: RequestInfo,
): Promise<SecurityWarningView> {
  return scope.transaction(async (tx) => {
    await findCluster(tx, clusterId);
    const row = (await tx
      .from<SecurityWarningRow>("cluster_security_warnings")
      .where({ id: warningId, cluster_id: clusterId })
      .forUpdate()
      .first()) as SecurityWarningRow | undefined;
    if (!row) throw new NotFoundError("SECURITY_WARNING_NOT_FOUND", "no such security warning on this cluster");
    if (row.acknowledged_at) {
      throw new ConflictError("SECURITY_WARNING_ACKNOWLEDGED", "this security warning was already acknowledged");
    }
    const [updated] = (await tx
      .from<SecurityWarningRow>("cluster_security_warnings")
      .where({ id: warningId })
      .update({
        acknowledged_at: tx.db.fn.now(),
        acknowledged_by_type: principal.actorType,
        acknowledged_by: principal.actorType === "user" ? principal.userId : principal.tokenId,
      })
      .returning("*")) as SecurityWarningRow[];
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "cluster.security_warning_acknowledged",
        targetType: "cluster",
        targetId: clusterId,
        data: { warningId, code: row.code, count: row.count },
      },
      request,
    );
    return securityWarningView(updated!);
  });
}

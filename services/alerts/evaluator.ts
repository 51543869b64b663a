/**
 * Evaluation of the alert rules, safe with several control-plane replicas: each pass claims one due rule at a
 * time with `FOR UPDATE SKIP LOCKED` and evaluates it inside that transaction, so no two replicas evaluate one
 * rule at once and a rule's alerts, pending conditions, audit rows and queued notifications commit together (a
 * replica that dies mid-evaluation leaves nothing half-written; the rule is simply due again). Time is the
 * database's (`now()` of the transaction), the same for every replica.
 *
 * A rule's state per subject: nothing → pending (`alert_conditions`, since when) → firing (an `alerts` row) once
 * the condition held for the rule's window → resolved when it ends. After a resolve the rule stays quiet for
 * that subject for `quiet_seconds`. A silence set on an alert holds for later alerts of its rule and subject.
 */
import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import type { Db } from "../_shared/db.js";
import { integrationEnvelope } from "../_shared/integration-events.js";
import { systemDb, systemScope, type TenantScope } from "../_shared/tenant.js";
import { recordAudit } from "../audit/index.js";
import { queueAlertDeliveries } from "../notifications/index.js";
import { holdSecondsOf, readRule, type Observation, type SourceDeps } from "./sources.js";
import { alertView, type AlertRow, type AlertRuleRow, type AlertTransition } from "./views.js";

export interface EvaluatorOptions extends SourceDeps {
  db: Db;
  intervalMs: number;
  /** Rules evaluated per pass by this process at most. */
  batchSize?: number;
  log: { warn(msg: string, data?: unknown): void };
  /** Called after a pass that queued email (the email sender is woken at once). */
  onEmailQueued?: () => void;
}

export interface Evaluator {
  /** Evaluates every rule due now; resolves with how many were evaluated (tests call it directly). */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

interface Outcome {
  fired: number;
  resolved: number;
  emails: number;
}

const SYSTEM_REQUEST = { ip: null, userAgent: null };

/** Queues the transition for the rule's endpoints (through the notification deliveries) and email recipients. */
async function notify(
  scope: TenantScope,
  rule: AlertRuleRow,
  alert: AlertRow,
  transition: AlertTransition,
): Promise<number> {
  const view = alertView(alert);
  const envelope = integrationEnvelope(scope.orgId, `alert.${transition}`, { ...view, transition });
  const details = alert.details;
  const endpoints: Array<{ id: string }> =
    rule.endpoint_ids.length === 0
      ? []
      : await scope
          .from("notification_endpoints")
          .whereIn("notification_endpoints.id", rule.endpoint_ids)
          .where("notification_endpoints.enabled", true)
          .select("notification_endpoints.id");
  const names = await namesOf(scope, details);
  await queueAlertDeliveries(
    scope.db,
    scope.orgId,
    endpoints.map((e) => e.id),
    envelope,
    names,
  );
  if (rule.email_recipients.length === 0) return 0;
  await scope
    .insert("alert_email_deliveries", {
      id: randomUUID(),
      alert_id: alert.id,
      transition,
      recipients: rule.email_recipients,
      status: "pending",
      next_attempt_at: scope.db.fn.now(),
    })
    .onConflict(["alert_id", "transition"])
    .ignore();
  return 1;
}

async function namesOf(scope: TenantScope, details: Record<string, unknown>) {
  const names: { stackName?: string; environmentName?: string; clusterName?: string } = {};
  if (typeof details.environmentId === "string") {
    const row = (await scope
      .from("environments")
      .join("stacks", "stacks.id", "environments.stack_id")
      .where("environments.id", details.environmentId)
      .first("environments.name as environment", "stacks.name as stack")) as
      { environment: string; stack: string } | undefined;
    if (row) Object.assign(names, { environmentName: row.environment, stackName: row.stack });
  }
  if (typeof details.clusterId === "string") {
    const row = (await scope.from("clusters").where("clusters.id", details.clusterId).first("clusters.name")) as
      { name: string } | undefined;
    if (row) names.clusterName = row.name;
  }
  return names;
}

async function audit(scope: TenantScope, alert: AlertRow, transition: AlertTransition, silenced: boolean) {
  await recordAudit(
    scope,
    {
      actorType: "system",
      actorId: null,
      action: transition === "firing" ? "alert.fire" : "alert.resolve",
      targetType: "alert",
      targetId: alert.id,
      data: {
        ruleId: alert.rule_id,
        ruleName: alert.rule_name,
        kind: alert.kind,
        severity: alert.severity,
        subject: alert.subject,
        summary: alert.summary,
        ...(silenced ? { silenced: true } : {}),
      },
    },
    SYSTEM_REQUEST,
  );
}

const isSilenced = (alert: AlertRow, now: Date) => alert.silenced_until !== null && alert.silenced_until > now;

/** Applies one reading of `rule` to its stored state; `now` is the transaction's time. */
export async function applyReading(
  scope: TenantScope,
  rule: AlertRuleRow,
  reading: { violations: Observation[]; undecided(subject: string): boolean },
  now: Date,
): Promise<Outcome> {
  const outcome: Outcome = { fired: 0, resolved: 0, emails: 0 };
  const pending = new Map(
    (
      (await scope.from("alert_conditions").where("alert_conditions.rule_id", rule.id)) as Array<{
        subject: string;
        since: Date;
      }>
    ).map((c) => [c.subject, c.since]),
  );
  const firing = new Map(
    ((await scope.from("alerts").where({ "alerts.rule_id": rule.id, "alerts.status": "firing" })) as AlertRow[]).map(
      (a) => [a.subject, a],
    ),
  );
  const violating = new Map(reading.violations.map((v) => [v.subject, v]));
  const holdMs = holdSecondsOf(rule) * 1000;

  for (const v of violating.values()) {
    const open = firing.get(v.subject);
    if (open) {
      if (open.summary !== v.summary) {
        await scope
          .from("alerts")
          .where("alerts.id", open.id)
          .update({ summary: v.summary, details: JSON.stringify(v.details) });
      }
      continue;
    }
    let since = pending.get(v.subject);
    if (!since) {
      since = v.since && v.since < now ? v.since : now;
      await scope
        .insert("alert_conditions", { rule_id: rule.id, subject: v.subject, since })
        .onConflict(["rule_id", "subject"])
        .ignore();
    }
    if (now.getTime() - since.getTime() < holdMs) continue;
    const previous = (await scope
      .from("alerts")
      .where({ "alerts.rule_id": rule.id, "alerts.subject": v.subject })
      .orderBy("alerts.fired_at", "desc")
      .first()) as AlertRow | undefined;
    if (
      previous?.resolved_at &&
      rule.quiet_seconds > 0 &&
      now.getTime() - previous.resolved_at.getTime() < rule.quiet_seconds * 1000
    ) {
      continue; // quiet: stays pending, fires after the quiet period if it still holds
    }
    const silencedUntil = previous && isSilenced(previous, now) ? previous.silenced_until : null;
    const [alert] = (await scope
      .insert("alerts", {
        id: randomUUID(),
        rule_id: rule.id,
        rule_name: rule.name,
        kind: rule.kind,
        severity: rule.severity,
        subject: v.subject,
        summary: v.summary,
        details: JSON.stringify(v.details),
        status: "firing",
        since,
        fired_at: now,
        silenced_until: silencedUntil,
        silenced_by: silencedUntil ? previous!.silenced_by : null,
      })
      .returning("*")) as AlertRow[];
    await scope.from("alert_conditions").where({ "alert_conditions.rule_id": rule.id, subject: v.subject }).delete();
    const silenced = silencedUntil !== null;
    await audit(scope, alert!, "firing", silenced);
    if (!silenced) outcome.emails += await notify(scope, rule, alert!, "firing");
    outcome.fired++;
  }

  for (const [subject, open] of firing) {
    if (violating.has(subject) || reading.undecided(subject)) continue;
    const [resolved] = (await scope
      .from<AlertRow>("alerts")
      .where("alerts.id", open.id)
      .update({ status: "resolved", resolved_at: now })
      .returning("*")) as AlertRow[];
    const silenced = isSilenced(open, now);
    await audit(scope, resolved!, "resolved", silenced);
    if (!silenced) outcome.emails += await notify(scope, rule, resolved!, "resolved");
    outcome.resolved++;
  }

  const gone = [...pending.keys()].filter((s) => !violating.has(s) && !reading.undecided(s));
  if (gone.length > 0) {
    await scope
      .from("alert_conditions")
      .where("alert_conditions.rule_id", rule.id)
      .whereIn("alert_conditions.subject", gone)
      .delete();
  }
  return outcome;
}

/** Claims the next due rule and evaluates it in the claim's transaction; false when none is due. */
async function evaluateNext(opts: EvaluatorOptions, intervalSeconds: number): Promise<Outcome | null> {
  const db = systemDb(opts.db, "alerts");
  let claimed: AlertRuleRow | undefined;
  try {
    return await db.transaction(async (trx: Knex.Transaction) => {
      const result = await trx.raw<{ rows: Array<AlertRuleRow & { tx_now: Date }> }>(
        `SELECT *, now() AS tx_now FROM alert_rules
          WHERE enabled AND next_eval_at <= now()
          ORDER BY next_eval_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
      );
      const row = result.rows[0];
      if (!row) return null;
      claimed = row;
      const scope = systemScope(trx, row.org_id, "alerts");
      const reading = await readRule(scope, row, opts);
      const outcome = await applyReading(scope, row, reading, row.tx_now);
      await trx("alert_rules")
        .where({ id: row.id })
        .update({ next_eval_at: trx.raw("now() + make_interval(secs => ?)", [intervalSeconds]) });
      return outcome;
    });
  } catch (err) {
    if (!claimed) throw err;
    // Its evaluation failed (and rolled back): due again next interval, not in a tight loop.
    opts.log.warn("alert rule not evaluated", { ruleId: claimed.id, kind: claimed.kind, err });
    await db("alert_rules")
      .where({ id: claimed.id })
      .update({ next_eval_at: db.raw("now() + make_interval(secs => ?)", [intervalSeconds]) });
    return { fired: 0, resolved: 0, emails: 0 };
  }
}

export function startEvaluator(opts: EvaluatorOptions): Evaluator {
  const batchSize = opts.batchSize ?? 50;
  const intervalSeconds = opts.intervalMs / 1000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | null = null;

  function runOnce(): Promise<number> {
    if (running) return running;
    running = (async () => {
      let evaluated = 0;
      let emails = 0;
      try {
        while (!stopped && evaluated < batchSize) {
          const outcome = await evaluateNext(opts, intervalSeconds);
          if (!outcome) break;
          evaluated++;
          emails += outcome.emails;
        }
      } finally {
        running = null;
      }
      if (emails > 0) opts.onEmailQueued?.();
      return evaluated;
    })();
    return running;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((err: unknown) => opts.log.warn("alert evaluation pass failed", { err }))
        .finally(schedule);
    }, opts.intervalMs);
    timer.unref();
  }
  schedule();

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

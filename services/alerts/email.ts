/**
 * Alert email over SMTP (nodemailer): the rows of `alert_email_deliveries` are claimed with a lease
 * (`FOR UPDATE SKIP LOCKED`, so replicas never send one at once and a crashed sender's claim lapses), sent, and
 * retried with the notifications' backoff. The message says what fired or resolved, never a secret (alerts carry
 * names, counts and codes only). SMTP errors are kept by their code and response line, never the credentials.
 */
import { createTransport } from "nodemailer";
import type { Config } from "../_shared/config.js";
import type { Db } from "../_shared/db.js";
import { systemDb } from "../_shared/tenant.js";
import { nextAttemptAt } from "../notifications/index.js";
import type { AlertRow, AlertTransition } from "./views.js";

export type SmtpSettings = NonNullable<Config["alerts"]["smtp"]>;

interface EmailRow {
  id: string;
  org_id: string;
  alert_id: string;
  transition: AlertTransition;
  recipients: string[];
  attempts: number;
}

export interface EmailMessage {
  subject: string;
  text: string;
}

/** What the recipients read: the headline in the subject, the facts in the body. */
export function emailOf(alert: AlertRow, transition: AlertTransition): EmailMessage {
  const head =
    transition === "firing"
      ? `[Stackyard] FIRING ${alert.severity}: ${alert.summary}`
      : `[Stackyard] RESOLVED: ${alert.summary}`;
  const lines = [
    transition === "firing" ? `Alert firing: ${alert.summary}` : `Alert resolved: ${alert.summary}`,
    "",
    `Rule:      ${alert.rule_name} (${alert.kind})`,
    `Severity:  ${alert.severity}`,
    `Subject:   ${alert.subject}`,
    `Since:     ${alert.since.toISOString()}`,
    `Fired at:  ${alert.fired_at.toISOString()}`,
    ...(alert.resolved_at ? [`Resolved:  ${alert.resolved_at.toISOString()}`] : []),
    `Alert id:  ${alert.id}`,
  ];
  return { subject: head.slice(0, 250), text: `${lines.join("\n")}\n` };
}

export type SendEmail = (to: string[], message: EmailMessage) => Promise<void>;

export function smtpSender(smtp: SmtpSettings): SendEmail {
  const transport = createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? "" } } : {}),
    connectionTimeout: smtp.timeoutMs,
    greetingTimeout: smtp.timeoutMs,
    socketTimeout: smtp.timeoutMs,
  });
  return async (to, message) => {
    await transport.sendMail({ from: smtp.from, to, subject: message.subject, text: message.text });
  };
}

/** The error as a short line: nodemailer's code and the server's response, nothing of the configuration. */
function smtpError(err: unknown): string {
  const e = err as { code?: string; response?: string; message?: string };
  return [e.code, e.response ?? e.message].filter(Boolean).join(": ").slice(0, 300) || "the email was not sent";
}

export interface EmailDispatcherOptions {
  db: Db;
  send: SendEmail | null;
  maxAttempts: number;
  retryBaseMs: number;
  pollIntervalMs: number;
  leaseMs: number;
  log: { warn(msg: string, data?: unknown): void };
}

export interface EmailDispatcher {
  wake(): void;
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function startEmailDispatcher(opts: EmailDispatcherOptions): EmailDispatcher {
  const db = systemDb(opts.db, "alerts");
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | null = null;
  let again = false;

  async function claim(limit: number): Promise<EmailRow[]> {
    const result = await db.raw<{ rows: EmailRow[] }>(
      `UPDATE alert_email_deliveries SET leased_until = now() + (? * interval '1 millisecond')
        WHERE id IN (
          SELECT id FROM alert_email_deliveries
           WHERE status = 'pending' AND next_attempt_at <= now() AND (leased_until IS NULL OR leased_until < now())
           ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED)
        RETURNING id, org_id, alert_id, transition, recipients, attempts`,
      [opts.leaseMs, limit],
    );
    return result.rows;
  }

  async function deliver(row: EmailRow): Promise<void> {
    const attempt = row.attempts + 1;
    let error: string | null = null;
    const alert = (await db<AlertRow>("alerts").where({ id: row.alert_id }).first()) as AlertRow | undefined;
    if (!alert) return; // gone with its org
    if (!opts.send) error = "no SMTP relay is configured (ALERT_SMTP_HOST)";
    else {
      try {
        await opts.send(row.recipients, emailOf(alert, row.transition));
      } catch (err) {
        error = smtpError(err);
      }
    }
    const next = error === null ? null : nextAttemptAt(attempt, opts.maxAttempts, opts.retryBaseMs, Date.now());
    await db("alert_email_deliveries")
      .where({ id: row.id })
      .update({
        attempts: attempt,
        status: error === null ? "delivered" : next ? "pending" : "failed",
        next_attempt_at: next,
        leased_until: null,
        last_error: error,
        ...(error === null ? { delivered_at: db.fn.now() } : {}),
      });
  }

  function runOnce(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let total = 0;
      try {
        let batch: EmailRow[];
        do {
          again = false;
          batch = await claim(10);
          await Promise.all(
            batch.map((r) =>
              deliver(r).catch((err: unknown) => opts.log.warn("alert email not recorded", { id: r.id, err })),
            ),
          );
          total += batch.length;
        } while (!stopped && (again || batch.length === 10));
      } finally {
        running = null;
      }
      return total;
    })();
    return running;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((err: unknown) => opts.log.warn("alert email pass failed", { err }))
        .finally(schedule);
    }, opts.pollIntervalMs);
    timer.unref();
  }
  schedule();

  return {
    wake() {
      if (!stopped) runOnce().catch((err: unknown) => opts.log.warn("alert email pass failed", { err }));
    },
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

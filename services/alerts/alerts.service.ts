/**
 * alerts: an org's alert rules and their history over REST; every process running this service evaluates due
 * rules (one replica per rule at a time, see evaluator.ts) and sends alert email. Webhook deliveries of alerts
 * are queued into the notifications service's queue and sent by it.
 */
import type { ServiceSchema } from "moleculer";
import type { Config } from "../_shared/config.js";
import type { Db } from "../_shared/db.js";
import type { OpCtx } from "../_shared/rest.js";
import { actionScope } from "../_shared/service-context.js";
import { smtpSender, startEmailDispatcher, type EmailDispatcher, type SendEmail } from "./email.js";
import { startEvaluator, type Evaluator } from "./evaluator.js";
import { acknowledgeAlert, listAlerts, silenceAlert } from "./history.logic.js";
import { createRule, deleteRule, listRules, updateRule } from "./rules.logic.js";
import { ingressCertificates, type CertificateSource } from "./sources.js";

export interface AlertsServiceDeps {
  config: Config;
  db: Db;
  /** Where certificate_expiring reads certificates (default: the ingress certificates). */
  certificates?: CertificateSource;
  /** Replaces the SMTP sender (unit tests). */
  sendEmail?: SendEmail;
}

export function createAlertsService({ config, db, certificates, sendEmail }: AlertsServiceDeps): ServiceSchema {
  const settings = config.alerts;
  const ruleDeps = { emailConfigured: settings.smtp !== null || sendEmail !== undefined };
  let evaluator: Evaluator | undefined;
  let email: EmailDispatcher | undefined;

  return {
    name: "alerts",
    actions: {
      listRules: (ctx: OpCtx<"listAlertRules">) => listRules(actionScope(db, ctx).scope),
      createRule(ctx: OpCtx<"createAlertRule">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return createRule(scope, principal, ctx.params.body, ruleDeps, request);
      },
      updateRule(ctx: OpCtx<"updateAlertRule">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return updateRule(scope, principal, ctx.params.params.ruleId, ctx.params.body, ruleDeps, request);
      },
      async deleteRule(ctx: OpCtx<"deleteAlertRule">) {
        const { scope, principal, request } = actionScope(db, ctx);
        await deleteRule(scope, principal, ctx.params.params.ruleId, request);
        return null;
      },
      listAlerts: (ctx: OpCtx<"listAlerts">) => listAlerts(actionScope(db, ctx).scope, ctx.params.query),
      acknowledge(ctx: OpCtx<"acknowledgeAlert">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return acknowledgeAlert(scope, principal, ctx.params.params.alertId, request);
      },
      silence(ctx: OpCtx<"silenceAlert">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return silenceAlert(scope, principal, ctx.params.params.alertId, ctx.params.body.until, request);
      },
    },
    started() {
      const log = this.logger;
      email = startEmailDispatcher({
        db,
        send: sendEmail ?? (settings.smtp ? smtpSender(settings.smtp) : null),
        maxAttempts: settings.emailMaxAttempts,
        retryBaseMs: settings.emailRetryBaseMs,
        pollIntervalMs: Math.max(settings.evalIntervalMs, 1_000),
        leaseMs: (settings.smtp?.timeoutMs ?? 10_000) * 3 + 5_000,
        log,
      });
      evaluator = startEvaluator({
        db,
        intervalMs: settings.evalIntervalMs,
        certificates: certificates ?? ingressCertificates,
        log,
        onEmailQueued: () => email?.wake(),
      });
    },
    async stopped() {
      await evaluator?.stop();
      await email?.stop();
    },
  };
}

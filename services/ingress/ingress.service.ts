/**
 * ingress: a cluster's managed reverse proxy over REST (settings, environments' routes, certificates) and the
 * renewal loop that orders missing and expiring ACME certificates. Every change reaches the proxy through the
 * agent's ApplyIngress (ingress.logic.ts).
 */
import type { ActionSchema, ServiceSchema } from "moleculer";
import type { NatsConnection } from "nats";
import type { Config } from "../_shared/config.js";
import type { Db } from "../_shared/db.js";
import { connectNats } from "../_shared/nats.js";
import type { OpCtx } from "../_shared/rest.js";
import { actionScope } from "../_shared/service-context.js";
import { loadNatsIdentity } from "../clusters/index.js";
import {
  createAcmeTrust,
  listCertificates,
  renewClusterCertificates,
  renewDueCertificates,
  uploadCertificate,
} from "./certificates.logic.js";
import {
  getClusterIngress,
  getEnvironmentRoutes,
  putClusterIngress,
  putEnvironmentRoutes,
  type IngressDeps,
} from "./ingress.logic.js";

/** Moleculer honours an action's own `timeout` (its timeout middleware) though its typings omit the field. */
const withTimeout = <A extends ActionSchema>(action: A, timeoutMs: number): A =>
  Object.assign(action, { timeout: timeoutMs });
/** An ACME order: the directory's validation, two rollouts of the proxy, the finalisation. */
const ORDER_TIMEOUT_MS = 5 * 60_000;

export function createIngressService({ config, db }: { config: Config; db: Db }): ServiceSchema {
  const settings = config.ingress;
  let nc: NatsConnection | undefined;
  let deps: IngressDeps | undefined;
  let renewTimer: NodeJS.Timeout | undefined;
  let renewing: Promise<void> | undefined;
  const acme = createAcmeTrust(settings.acmeCaFile);
  const applyTimeoutMs = (settings.applyTimeoutSeconds + 20) * 1000;
  const ready = (): IngressDeps => {
    if (!deps) throw new Error("the ingress service has not started");
    return deps;
  };
  const acmeDeps = () => ({ ...ready(), acme, renewBeforeSeconds: settings.renewBeforeSeconds });

  return {
    name: "ingress",
    actions: {
      getClusterIngress(ctx: OpCtx<"getClusterIngress">) {
        return getClusterIngress(actionScope(db, ctx).scope, ctx.params.params.clusterId);
      },
      putClusterIngress: withTimeout(
        {
          handler(ctx: OpCtx<"putClusterIngress">) {
            const { scope, principal, request } = actionScope(db, ctx);
            return putClusterIngress(ready(), scope, principal, ctx.params.params.clusterId, ctx.params.body, request);
          },
        },
        applyTimeoutMs,
      ),
      getRoutes(ctx: OpCtx<"getEnvironmentRoutes">) {
        return getEnvironmentRoutes(actionScope(db, ctx).scope, ctx.params.params.envId);
      },
      putRoutes: withTimeout(
        {
          handler(ctx: OpCtx<"putEnvironmentRoutes">) {
            const { scope, principal, request } = actionScope(db, ctx);
            return putEnvironmentRoutes(
              ready(),
              scope,
              principal,
              ctx.params.params.envId,
              ctx.params.body.routes,
              request,
            );
          },
        },
        applyTimeoutMs,
      ),
      listCertificates(ctx: OpCtx<"listIngressCertificates">) {
        return listCertificates(actionScope(db, ctx).scope, ctx.params.params.clusterId);
      },
      uploadCertificate: withTimeout(
        {
          handler(ctx: OpCtx<"uploadIngressCertificate">) {
            const { scope, principal, request } = actionScope(db, ctx);
            return uploadCertificate(ready(), scope, principal, ctx.params.params.clusterId, ctx.params.body, request);
          },
        },
        applyTimeoutMs,
      ),
      renewCertificates: withTimeout(
        {
          handler(ctx: OpCtx<"renewIngressCertificates">) {
            const { scope, principal, request } = actionScope(db, ctx);
            return renewClusterCertificates(acmeDeps(), scope, principal, ctx.params.params.clusterId, request);
          },
        },
        ORDER_TIMEOUT_MS,
      ),
    },
    async started() {
      const identity = await loadNatsIdentity(config.nats.identityFile);
      nc = await connectNats(config.nats, config.nats.credsFile, "stackyard-ingress");
      deps = {
        nc,
        commandSigningSeed: identity.commandSigningSeed,
        masterKeys: config.stacks.masterKeys,
        applyTimeoutSeconds: settings.applyTimeoutSeconds,
        defaultImage: settings.defaultImage,
      };
      const tick = () => {
        renewing ??= renewDueCertificates(acmeDeps(), db, this.logger)
          .catch((err: unknown) => this.logger.warn({ msg: "certificate renewal failed", error: String(err) }))
          .finally(() => {
            renewing = undefined;
          });
      };
      renewTimer = setInterval(tick, settings.renewIntervalSeconds * 1000);
      renewTimer.unref();
    },
    async stopped() {
      if (renewTimer) clearInterval(renewTimer);
      await renewing;
      await nc?.drain();
    },
  };
}

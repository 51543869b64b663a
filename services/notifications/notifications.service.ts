/**
 * notifications: an org's outbound webhooks. Endpoints are managed over REST; every process running this service
 * subscribes (one queue group across replicas) to the integration events it publishes, queues a delivery per
 * matching endpoint in Postgres, and sends them signed, with retries and a delivery log.
 */
import type { ServiceSchema } from "moleculer";
import type { NatsConnection, Subscription } from "nats";
import type { Config } from "../_shared/config.js";
import type { Db } from "../_shared/db.js";
import { integrationEnvelope, type IntegrationEnvelope } from "../_shared/integration-events.js";
import { connectNats } from "../_shared/nats.js";
import type { OpCtx } from "../_shared/rest.js";
import { actionScope } from "../_shared/service-context.js";
import { listDeliveries, queueDeliveries, deliveryView } from "./deliveries.repo.js";
import { startDispatcher, type Dispatcher } from "./dispatcher.js";
import { createEndpoint, deleteEndpoint, findEndpoint, listEndpoints, updateEndpoint } from "./endpoints.logic.js";
import { namesOf, queueEvent } from "./event-queue.js";

/** Every org's integration subjects; the queue group makes one replica handle each event. */
const EVENTS_SUBJECT = "stackyard.*.>";
const QUEUE_GROUP = "stackyard-notifications";
const DEFAULT_DELIVERY_PAGE = 50;

export interface NotificationsServiceDeps {
  config: Config;
  db: Db;
}

const decoder = new TextDecoder();

function parseEnvelope(data: Uint8Array): IntegrationEnvelope | null {
  try {
    const value = JSON.parse(decoder.decode(data)) as Partial<IntegrationEnvelope>;
    return typeof value.type === "string" && typeof value.orgId === "string" && typeof value.id === "string"
      ? (value as IntegrationEnvelope)
      : null;
  } catch {
    return null;
  }
}

export function createNotificationsService({ config, db }: NotificationsServiceDeps): ServiceSchema {
  const settings = config.notifications;
  const deps = {
    keys: config.stacks.masterKeys,
    policy: { blockPrivateNetworks: settings.blockPrivateNetworks, testAllowedHosts: settings.testAllowedHosts },
  };
  let nc: NatsConnection | undefined;
  let subscription: Subscription | undefined;
  let dispatcher: Dispatcher | undefined;

  return {
    name: "notifications",
    actions: {
      listEndpoints: (ctx: OpCtx<"listNotificationEndpoints">) => listEndpoints(actionScope(db, ctx).scope),
      createEndpoint(ctx: OpCtx<"createNotificationEndpoint">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return createEndpoint(scope, principal, ctx.params.body, deps, request);
      },
      updateEndpoint(ctx: OpCtx<"updateNotificationEndpoint">) {
        const { scope, principal, request } = actionScope(db, ctx);
        return updateEndpoint(scope, principal, ctx.params.params.endpointId, ctx.params.body, deps, request);
      },
      async deleteEndpoint(ctx: OpCtx<"deleteNotificationEndpoint">) {
        const { scope, principal, request } = actionScope(db, ctx);
        await deleteEndpoint(scope, principal, ctx.params.params.endpointId, request);
        return null;
      },
      async listDeliveries(ctx: OpCtx<"listNotificationDeliveries">) {
        const { scope } = actionScope(db, ctx);
        await findEndpoint(scope, ctx.params.params.endpointId);
        return listDeliveries(scope, ctx.params.params.endpointId, ctx.params.query.limit ?? DEFAULT_DELIVERY_PAGE);
      },
      /** A synthetic event for this endpoint alone, whatever its filter: "does my receiver verify?". */
      async testEndpoint(ctx: OpCtx<"testNotificationEndpoint">) {
        const { scope, principal } = actionScope(db, ctx);
        const endpoint = await findEndpoint(scope, ctx.params.params.endpointId);
        const envelope = integrationEnvelope(scope.orgId, "notification.test", {
          endpointId: endpoint.id,
          requestedBy: principal.userId,
        }) as IntegrationEnvelope;
        const [row] = await queueDeliveries(db, scope.orgId, [endpoint.id], {
          envelope,
          names: await namesOf(db, envelope),
        });
        dispatcher?.wake();
        return deliveryView(row!, []);
      },
    },
    async started() {
      dispatcher = startDispatcher({ db, ...deps, ...settings, log: this.logger });
      nc = await connectNats(config.nats, config.nats.credsFile, "stackyard-notifications");
      subscription = nc.subscribe(EVENTS_SUBJECT, {
        queue: QUEUE_GROUP,
        callback: (err, msg) => {
          if (err) return;
          const envelope = parseEnvelope(msg.data);
          if (!envelope) return;
          queueEvent(db, envelope)
            .then((queued) => {
              if (queued.length > 0) dispatcher?.wake();
            })
            .catch((error: unknown) =>
              this.logger.warn({ msg: "notification not queued", eventId: envelope.id, type: envelope.type, error }),
            );
        },
      });
    },
    async stopped() {
      subscription?.unsubscribe();
      await nc?.drain().catch(() => undefined);
      await dispatcher?.stop();
    },
  };
}

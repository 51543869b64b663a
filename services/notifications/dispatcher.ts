/**
 * The sender loop of one process: claims due deliveries, signs and POSTs each, records the attempt and schedules
 * the retry. Woken at once when this process queued something; otherwise it looks every poll interval (deliveries
 * queued by another replica, retries falling due).
 */
import type { Db } from "../_shared/db.js";
import type { MasterKeys } from "../_shared/master-keys.js";
import { systemDb } from "../_shared/tenant.js";
import { abandonDelivery, claimDueDeliveries, recordAttempt, type DeliveryRow } from "./deliveries.repo.js";
import { signingSecretOf, type EndpointRow } from "./endpoints.logic.js";
import { checkEndpointUrl, type EndpointHostPolicy } from "./host-check.js";
import { payloadOf } from "./payloads.js";
import { nextAttemptAt } from "./retry.js";
import { sendNotification } from "./sender.js";
import { AppError } from "../_shared/errors.js";

export interface DispatcherOptions {
  db: Db;
  keys: MasterKeys;
  policy: EndpointHostPolicy;
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  pollIntervalMs: number;
  /** Deliveries sent at once by this process. */
  batchSize?: number;
  log: { warn(msg: string, data?: unknown): void };
}

export interface Dispatcher {
  wake(): void;
  /** Claims and sends what is due now; resolves when that batch is done (tests call it directly). */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function startDispatcher(opts: DispatcherOptions): Dispatcher {
  const batchSize = opts.batchSize ?? 20;
  // A claim outlives the slowest attempt; a crashed sender's rows are claimable again after it.
  const leaseMs = opts.timeoutMs * 2 + 5_000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | null = null;
  let again = false;

  async function deliver(delivery: DeliveryRow): Promise<void> {
    const endpoint = await systemDb(
      opts.db,
      "notifications",
    )<EndpointRow>("notification_endpoints")
      .where({ id: delivery.endpoint_id })
      .first();
    if (!endpoint) return; // deleted: its deliveries went with it
    if (!endpoint.enabled) return abandonDelivery(opts.db, delivery.id, "the endpoint was disabled");
    const attempt = delivery.attempts + 1;
    let outcome: { statusCode: number | null; error: string | null; durationMs: number; delivered: boolean };
    try {
      const target = await checkEndpointUrl(endpoint.url, opts.policy);
      outcome = await sendNotification({
        target,
        body: payloadOf(endpoint.format, delivery.event.envelope, delivery.event.names),
        secret: signingSecretOf(opts.keys, endpoint),
        eventType: delivery.event_type,
        deliveryId: delivery.id,
        timeoutMs: opts.timeoutMs,
      });
    } catch (err) {
      // The guard's refusal (the host now resolves somewhere forbidden) is an attempt that failed, with its code.
      const message = err instanceof AppError ? `${err.type}: ${err.message}` : "the delivery could not be sent";
      if (!(err instanceof AppError)) opts.log.warn("notification delivery crashed", { deliveryId: delivery.id, err });
      outcome = { statusCode: null, error: message, durationMs: 0, delivered: false };
    }
    await recordAttempt(opts.db, delivery, {
      ...outcome,
      nextAttemptAt: outcome.delivered ? null : nextAttemptAt(attempt, opts.maxAttempts, opts.retryBaseMs, Date.now()),
    });
  }

  async function runBatch(): Promise<number> {
    const due = await claimDueDeliveries(opts.db, batchSize, leaseMs);
    await Promise.all(
      due.map((d) =>
        deliver(d).catch((err: unknown) =>
          opts.log.warn("notification delivery not recorded", { deliveryId: d.id, err }),
        ),
      ),
    );
    return due.length;
  }

  function runOnce(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let total = 0;
      try {
        let sent: number;
        do {
          again = false;
          sent = await runBatch();
          total += sent;
        } while (!stopped && (again || sent === batchSize));
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
        .catch((err: unknown) => opts.log.warn("notification sender pass failed", { err }))
        .finally(schedule);
    }, opts.pollIntervalMs);
    timer.unref();
  }
  schedule();

  return {
    wake() {
      if (stopped) return;
      runOnce().catch((err: unknown) => opts.log.warn("notification sender pass failed", { err }));
    },
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

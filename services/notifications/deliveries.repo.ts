/**
 * The delivery queue and log in Postgres: one row per (endpoint, event), claimed by a sender with a lease
 * (`FOR UPDATE SKIP LOCKED`, so replicas never send the same row at once and a crashed sender's claim lapses),
 * every attempt recorded with the receiver's answer.
 */
import { randomUUID } from "node:crypto";
import type { Db } from "../_shared/db.js";
import type { IntegrationEnvelope } from "../_shared/integration-events.js";
import { systemDb, type TenantScope } from "../_shared/tenant.js";
import type { EventNames } from "./payloads.js";

export type DeliveryStatus = "pending" | "delivered" | "failed";

/** What is stored of the event: the envelope as published, and the names looked up when it was queued. */
export interface StoredEvent {
  envelope: IntegrationEnvelope;
  names: EventNames;
}

export interface DeliveryRow {
  id: string;
  org_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  event: StoredEvent;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date | null;
  leased_until: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

interface AttemptRow {
  delivery_id: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  at: Date;
}

/** Queues the event for each endpoint; an event already queued for an endpoint (a redelivery) is skipped. */
export async function queueDeliveries(
  db: Db,
  orgId: string,
  endpointIds: string[],
  event: StoredEvent,
): Promise<DeliveryRow[]> {
  if (endpointIds.length === 0) return [];
  return (await systemDb(
    db,
    "notifications",
  )("notification_deliveries")
    .insert(
      endpointIds.map((endpointId) => ({
        id: randomUUID(),
        org_id: orgId,
        endpoint_id: endpointId,
        event_id: event.envelope.id,
        event_type: event.envelope.type,
        event,
        status: "pending",
        next_attempt_at: db.fn.now(),
      })),
    )
    .onConflict(["endpoint_id", "event_id"])
    .ignore()
    .returning("*")) as DeliveryRow[];
}

/** Claims up to `limit` due deliveries for `leaseMs`, oldest due first. */
export async function claimDueDeliveries(db: Db, limit: number, leaseMs: number): Promise<DeliveryRow[]> {
  const result = await systemDb(db, "notifications").raw<{ rows: DeliveryRow[] }>(
    `UPDATE notification_deliveries SET leased_until = now() + (? * interval '1 millisecond')
      WHERE id IN (
        SELECT id FROM notification_deliveries
         WHERE status = 'pending' AND next_attempt_at <= now() AND (leased_until IS NULL OR leased_until < now())
         ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED)
      RETURNING *`,
    [leaseMs, limit],
  );
  return result.rows;
}

export interface AttemptOutcome {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  delivered: boolean;
  /** When the next attempt is due; null: no more attempts (delivered, or given up). */
  nextAttemptAt: Date | null;
}

/** Records one attempt and the delivery's new state, in one transaction. */
export async function recordAttempt(db: Db, delivery: DeliveryRow, outcome: AttemptOutcome): Promise<void> {
  const attempt = delivery.attempts + 1;
  await systemDb(db, "notifications").transaction(async (trx) => {
    await trx("notification_attempts").insert({
      delivery_id: delivery.id,
      attempt,
      status_code: outcome.statusCode,
      error: outcome.error,
      duration_ms: outcome.durationMs,
    });
    await trx("notification_deliveries")
      .where({ id: delivery.id })
      .update({
        attempts: attempt,
        status: outcome.delivered ? "delivered" : outcome.nextAttemptAt ? "pending" : "failed",
        next_attempt_at: outcome.nextAttemptAt,
        leased_until: null,
        last_status_code: outcome.statusCode,
        last_error: outcome.error,
        ...(outcome.delivered ? { delivered_at: trx.fn.now() } : {}),
      });
  });
}

/** Ends a delivery without an attempt (its endpoint was disabled after the event was queued). */
export async function abandonDelivery(db: Db, deliveryId: string, reason: string): Promise<void> {
  await systemDb(
    db,
    "notifications",
  )("notification_deliveries")
    .where({ id: deliveryId })
    .update({ status: "failed", next_attempt_at: null, leased_until: null, last_error: reason });
}

export function deliveryView(row: DeliveryRow, attempts: AttemptRow[]) {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at?.toISOString() ?? null,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    createdAt: row.created_at.toISOString(),
    deliveredAt: row.delivered_at?.toISOString() ?? null,
    log: attempts.map((a) => ({
      attempt: a.attempt,
      statusCode: a.status_code,
      error: a.error,
      durationMs: a.duration_ms,
      at: a.at.toISOString(),
    })),
  };
}

/** An endpoint's deliveries, newest first, each with its attempts (one query for all of them). */
export async function listDeliveries(scope: TenantScope, endpointId: string, limit: number) {
  const rows: DeliveryRow[] = await scope
    .from<DeliveryRow>("notification_deliveries")
    .where("notification_deliveries.endpoint_id", endpointId)
    .orderBy("created_at", "desc")
    .limit(limit);
  const attempts: AttemptRow[] =
    rows.length === 0
      ? []
      : await scope
          .db("notification_attempts")
          .whereIn(
            "delivery_id",
            rows.map((r) => r.id),
          )
          .orderBy("attempt");
  return {
    items: rows.map((r) =>
      deliveryView(
        r,
        attempts.filter((a) => a.delivery_id === r.id),
      ),
    ),
  };
}

/**
 * Queues an alert's transition (`alert.firing` / `alert.resolved`) for the endpoints its rule routes to, whatever
 * event types they asked for: the rule chose them. Sent by the dispatcher like every delivery (signed, retried,
 * SSRF-guarded). `db` may be the alert evaluator's transaction: the deliveries commit with the alert.
 */
export function queueAlertDeliveries(
  db: Db,
  orgId: string,
  endpointIds: string[],
  envelope: IntegrationEnvelope,
  names: EventNames,
): Promise<DeliveryRow[]> {
  return queueDeliveries(db, orgId, endpointIds, { envelope, names });
}

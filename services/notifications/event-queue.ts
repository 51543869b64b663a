/**
 * From a published integration event to queued deliveries: the org's enabled endpoints that asked for its type,
 * and the names a person reads (stack, environment, cluster), looked up once when the event is queued.
 */
import type { Db } from "../_shared/db.js";
import type { IntegrationEnvelope } from "../_shared/integration-events.js";
import { systemScope } from "../_shared/tenant.js";
import { queueDeliveries, type DeliveryRow } from "./deliveries.repo.js";
import type { EventNames } from "./payloads.js";
import type { NotificationEventType } from "./endpoints.logic.js";

/** Every type an endpoint may ask for (the NotificationEventTypes enum of openapi.yaml). */
export const NOTIFICATION_EVENT_TYPES: readonly NotificationEventType[] = [
  "deployment.approval_requested",
  "deployment.rejected",
  "deployment.started",
  "deployment.succeeded",
  "deployment.failed",
  "deployment.canceled",
  "cluster.online",
  "cluster.degraded",
  "cluster.offline",
  "cluster.link_down",
  "cluster.security_warning",
  "release.created",
];

export function isNotificationEventType(type: string): type is NotificationEventType {
  return (NOTIFICATION_EVENT_TYPES as readonly string[]).includes(type);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const idIn = (data: Record<string, unknown>, key: string): string | undefined => {
  const v = data[key];
  return typeof v === "string" && UUID.test(v) ? v : undefined;
};

export async function namesOf(db: Db, envelope: IntegrationEnvelope): Promise<EventNames> {
  const scope = systemScope(db, envelope.orgId, "notifications");
  const names: EventNames = {};
  const environmentId = idIn(envelope.data, "environmentId");
  const stackId = idIn(envelope.data, "stackId");
  const clusterId = idIn(envelope.data, "clusterId");
  if (environmentId) {
    const row = await scope
      .from<{ environment: string; stack: string }>("environments")
      .join("stacks", "stacks.id", "environments.stack_id")
      .where("environments.id", environmentId)
      .first("environments.name as environment", "stacks.name as stack");
    if (row) Object.assign(names, { environmentName: row.environment, stackName: row.stack });
  } else if (stackId) {
    const row = await scope.from<{ name: string }>("stacks").where("stacks.id", stackId).first("stacks.name as name");
    if (row) names.stackName = row.name;
  }
  if (clusterId) {
    const row = await scope
      .from<{ name: string }>("clusters")
      .where("clusters.id", clusterId)
      .first("clusters.name as name");
    if (row) names.clusterName = row.name;
  }
  return names;
}

/** Queues `envelope` for every enabled endpoint of its org that wants its type; others are ignored. */
export async function queueEvent(db: Db, envelope: IntegrationEnvelope): Promise<DeliveryRow[]> {
  if (!isNotificationEventType(envelope.type) || !UUID.test(envelope.orgId) || !UUID.test(envelope.id)) return [];
  const endpoints: Array<{ id: string }> = await systemScope(db, envelope.orgId, "notifications")
    .from("notification_endpoints")
    .where("notification_endpoints.enabled", true)
    .whereRaw("? = ANY(notification_endpoints.event_types)", [envelope.type])
    .select("notification_endpoints.id");
  if (endpoints.length === 0) return [];
  return queueDeliveries(
    db,
    envelope.orgId,
    endpoints.map((e) => e.id),
    { envelope, names: await namesOf(db, envelope) },
  );
}

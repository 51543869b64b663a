/**
 * The one place where consumed cluster activity and security warnings leave the clusters service: grouped per
 * cluster, broadcast as CLUSTER_ACTIVITY_EVENT (services/_shared/bus-events.ts) and published to the org's
 * integration subjects (`stackyard.<orgId>.clusters.<clusterId>.docker.<type>` / `.security-warning`).
 */
import type { ServiceBroker } from "moleculer";
import { broadcastClusterActivity, type ClusterActivityBroadcast } from "../_shared/bus-events.js";
import { integrationEnvelope, publishIntegrationEvent } from "../_shared/integration-events.js";
import { integrationSubjects } from "../../nats/protocol/integration-subjects.js";
import { activityView, type ClusterActivityRow } from "./activity.js";
import type { SecurityWarningView } from "./security-warnings.js";

export function groupActivity(
  rows: ClusterActivityRow[],
  warnings: Array<SecurityWarningView & { orgId: string }>,
): ClusterActivityBroadcast[] {
  const byCluster = new Map<string, ClusterActivityBroadcast>();
  const entry = (orgId: string, clusterId: string) => {
    let e = byCluster.get(clusterId);
    if (!e) byCluster.set(clusterId, (e = { orgId, clusterId, activity: [], securityWarnings: [] }));
    return e;
  };
  for (const r of rows) entry(r.org_id, r.cluster_id).activity.push(activityView(r));
  for (const { orgId, ...w } of warnings) entry(orgId, w.clusterId).securityWarnings.push(w);
  return [...byCluster.values()];
}

export function handOnClusterActivity(
  broker: ServiceBroker,
  rows: ClusterActivityRow[],
  warnings: Array<SecurityWarningView & { orgId: string }> = [],
): void {
  for (const payload of groupActivity(rows, warnings)) {
    broadcastClusterActivity(broker, payload);
    publishToIntegrations(payload);
  }
}

/** One message per Docker event and per warning: integrations filter by subject (type, cluster). */
function publishToIntegrations({ orgId, clusterId, activity, securityWarnings }: ClusterActivityBroadcast): void {
  for (const a of activity) {
    publishIntegrationEvent(
      integrationSubjects.dockerEvent(orgId, clusterId, a.type),
      integrationEnvelope(orgId, `cluster.docker.${a.type}`, a),
    );
  }
  for (const w of securityWarnings) {
    publishIntegrationEvent(
      integrationSubjects.securityWarning(orgId, clusterId),
      integrationEnvelope(orgId, "cluster.security_warning", w),
    );
  }
}

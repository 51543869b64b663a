/** Cluster status changes on the integration subjects: `stackyard.<orgId>.clusters.<clusterId>.status`. */
import { integrationEnvelope, publishIntegrationEvent } from "../_shared/integration-events.js";
import { integrationSubjects } from "../../nats/protocol/integration-subjects.js";
import type { ClusterStatusChange } from "./agent-ingest.js";

export function publishClusterStatusChanges(changes: ClusterStatusChange[]): void {
  for (const c of changes) {
    publishIntegrationEvent(
      integrationSubjects.clusterStatus(c.org_id, c.id),
      integrationEnvelope(c.org_id, `cluster.${c.status}`, {
        clusterId: c.id,
        status: c.status,
        previousStatus: c.previous_status,
        lastSeenAt: c.last_seen_at ? new Date(c.last_seen_at).toISOString() : null,
      }),
    );
  }
}

/** A deployment's lifecycle on the integration subjects: `stackyard.<orgId>.deployments.<envId>.<status>`. */
import { integrationEnvelope, publishIntegrationEvent } from "../_shared/integration-events.js";
import { integrationSubjects, type DeploymentEventStatus } from "../../nats/protocol/integration-subjects.js";
import { deploymentView, type DeploymentRow, type DeploymentStatus } from "./views.js";

const EVENT_STATUS: Record<DeploymentStatus, DeploymentEventStatus> = {
  AWAITING_APPROVAL: "approval_requested",
  PENDING: "created",
  RUNNING: "started",
  SUCCEEDED: "succeeded",
  FAILED: "failed",
  CANCELED: "canceled",
  REJECTED: "rejected",
};

/** Called after the row committed in its new status (a PENDING row: just created). */
export function publishDeploymentEvent(row: DeploymentRow & { release_version?: number }): void {
  const status = EVENT_STATUS[row.status];
  publishIntegrationEvent(
    integrationSubjects.deployment(row.org_id, row.environment_id, status),
    integrationEnvelope(row.org_id, `deployment.${status}`, deploymentView(row)),
  );
}

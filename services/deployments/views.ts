/** Deployment rows and their API shape. */
import type { ImagePin } from "../../nats/protocol/image-pins.js";

export const DEPLOYMENT_STATUSES = [
  "AWAITING_APPROVAL",
  "PENDING",
  "RUNNING",
  "SUCCEEDED",
  "FAILED",
  "CANCELED",
  "REJECTED",
] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

export interface DeploymentRow {
  id: string;
  org_id: string;
  environment_id: string;
  release_id: string;
  kind: "deploy" | "rollback";
  status: DeploymentStatus;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  created_by: string | null;
  created_by_type: string | null;
  error_message: string | null;
  error_code: string | null;
  policy_violations: Array<{ rule: string; path: string; message: string }> | null;
  adopt: boolean;
  /** The failed deployment this automatic rollback was created for (failure-policy.ts); null otherwise. */
  rollback_of: string | null;
  /** What each service ran once the deployment succeeded (nats/protocol/image-pins.ts); null otherwise. */
  images: ImagePin[] | null;
  /** The source environment's deployment whose release this promotion deploys (promotion.ts); null otherwise. */
  promoted_from_deployment_id: string | null;
  /** The approval decision on a deployment that waited in AWAITING_APPROVAL (approvals.ts). */
  approval_decision: "approved" | "rejected" | null;
  approval_decided_by: string | null;
  approval_decided_at: Date | null;
  approval_comment: string | null;
  /** The seq of its committed "dispatching" event; the agent numbers its events from the next one (dispatch.ts). */
  dispatch_seq: number | null;
}

export interface DeploymentEventRow {
  org_id: string;
  deployment_id: string;
  seq: string | number;
  ts: Date;
  level: "debug" | "info" | "warn" | "error";
  message: string;
  data_json: Record<string, unknown>;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export const deploymentView = (d: DeploymentRow & { release_version?: number; rolled_back_by?: string | null }) => ({
  id: d.id,
  environmentId: d.environment_id,
  releaseId: d.release_id,
  releaseVersion: d.release_version ?? null,
  kind: d.kind,
  status: d.status,
  createdAt: d.created_at.toISOString(),
  startedAt: iso(d.started_at),
  finishedAt: iso(d.finished_at),
  durationMs: d.started_at && d.finished_at ? d.finished_at.getTime() - d.started_at.getTime() : null,
  createdBy: d.created_by,
  createdByType: d.created_by_type,
  errorMessage: d.error_message,
  errorCode: d.error_code,
  policyViolations: d.policy_violations ?? null,
  adopt: d.adopt,
  rollbackOf: d.rollback_of ?? null,
  images: d.images ?? null,
  promotedFrom: d.promoted_from_deployment_id ?? null,
  approval: d.approval_decision
    ? {
        decision: d.approval_decision,
        by: d.approval_decided_by,
        at: iso(d.approval_decided_at),
        comment: d.approval_comment ?? "",
      }
    : null,
  // Only read queries join it (ROLLED_BACK_BY); elsewhere (bus events) the field is left out, never guessed.
  ...(d.rolled_back_by !== undefined ? { rolledBackBy: d.rolled_back_by } : {}),
});
export type DeploymentView = ReturnType<typeof deploymentView>;

export const eventView = (e: DeploymentEventRow) => ({
  seq: Number(e.seq),
  ts: e.ts.toISOString(),
  level: e.level,
  message: e.message,
  data: e.data_json,
});
export type DeploymentEventView = ReturnType<typeof eventView>;

/**
 * Approvals: a deployment to an environment with `approval_required` is created AWAITING_APPROVAL and reaches the
 * worker only once a user of the environment's approval role (or an ORG_ADMIN), other than the requester,
 * approves it; a rejection ends it REJECTED. One decision per deployment: the row lock makes a second, concurrent
 * decision see the first one's status and fail with 409 APPROVAL_NOT_PENDING.
 */
import { ConflictError, ForbiddenError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import { findEnvironment } from "../stacks/index.js";
import { appendEvents } from "./events.repo.js";
import { finishDeployment, transitionOrThrow } from "./lifecycle.js";
import { findDeployment } from "./deployments.logic.js";
import type { DeploymentEventView, DeploymentRow } from "./views.js";

export type ApprovalDecision = "approve" | "reject";
export const APPROVAL_COMMENT_MAX = 1_000;

export class ApprovalByRequesterError extends ForbiddenError {
  constructor() {
    super("APPROVAL_BY_REQUESTER", "the requester of a deployment cannot decide on its approval");
  }
}

export class ApprovalRoleRequiredError extends ForbiddenError {
  constructor(role: string) {
    super("APPROVAL_ROLE_REQUIRED", `approving deployments to this environment needs the role ${role} (or ORG_ADMIN)`, {
      role,
    });
  }
}

export class ApprovalNotPendingError extends ConflictError {
  constructor(status: string) {
    super("APPROVAL_NOT_PENDING", `the deployment is ${status}, not AWAITING_APPROVAL`, { status });
  }
}

/** Whether a caller's role may decide for an environment whose approval role is `required`. */
export const roleMayApprove = (role: string, required: string): boolean => role === required || role === "ORG_ADMIN";

/** The user behind a deployment's requester: the user itself, or the owner of the API token that asked. */
async function requesterUserId(scope: TenantScope, deployment: DeploymentRow): Promise<string | null> {
  if (deployment.created_by_type === "user") return deployment.created_by;
  if (deployment.created_by_type === "token" && deployment.created_by) {
    const token = (await scope.from("api_tokens").where({ id: deployment.created_by }).first("created_by")) as
      { created_by: string } | undefined;
    return token?.created_by ?? null;
  }
  return null; // the control plane (auto-sync): any user of the role may decide
}

export interface DecidedApproval {
  row: DeploymentRow;
  events: DeploymentEventView[];
  /** Approved: the caller enqueues it for the worker (after the commit). */
  approved: boolean;
}

export async function decideApproval(
  scope: TenantScope,
  principal: Principal,
  deploymentId: string,
  input: { decision: ApprovalDecision; comment: string },
  request: RequestInfo,
): Promise<DecidedApproval> {
  return scope.transaction(async (tx) => {
    const deployment = await findDeployment(tx, deploymentId, true);
    if (deployment.status !== "AWAITING_APPROVAL") throw new ApprovalNotPendingError(deployment.status);
    const env = await findEnvironment(tx, deployment.environment_id);
    const requester = await requesterUserId(tx, deployment);
    if (requester !== null && requester === principal.userId) throw new ApprovalByRequesterError();
    if (!roleMayApprove(principal.role, env.approval_role)) throw new ApprovalRoleRequiredError(env.approval_role);
    const comment = input.comment.trim();
    const decision = input.decision === "approve" ? "approved" : "rejected";
    const audit = {
      ...actorOf(principal),
      action: input.decision === "approve" ? "deployment.approve" : "deployment.reject",
      targetType: "deployment",
      targetId: deployment.id,
      data: { environmentId: env.id, releaseId: deployment.release_id, comment },
    };
    await tx.from("deployments").where({ id: deployment.id }).update({
      approval_decision: decision,
      approval_decided_by: principal.email,
      approval_decided_at: tx.db.fn.now(),
      approval_comment: comment,
    });
    const said = comment ? `: ${comment}` : "";
    if (input.decision === "reject") {
      const ended = await finishDeployment(tx.db, {
        orgId: scope.orgId,
        deploymentId: deployment.id,
        status: "REJECTED",
        errorMessage: `rejected by ${principal.email}${said}`,
        errorCode: "APPROVAL_REJECTED",
        level: "warn",
        message: `rejected by ${principal.email}${said}; nothing was sent to the cluster`,
        data: { approval: decision, by: principal.email, comment },
        current: deployment,
      });
      await recordAudit(tx, audit, request);
      return { row: ended!.row, events: ended!.events, approved: false };
    }
    const row = await transitionOrThrow(tx.db, deployment, "PENDING");
    const events = await appendEvents(tx.db, scope.orgId, deployment.id, [
      {
        level: "info",
        message: `approved by ${principal.email}${said}; queued`,
        data: { approval: decision, by: principal.email, comment },
      },
    ]);
    await recordAudit(tx, audit, request);
    return { row, events, approved: true };
  });
}

/** The org's deployments awaiting approval, oldest first, with where they go (the UI's pending approvals list). */
export async function listPendingApprovals(scope: TenantScope, principal: Principal) {
  const rows = (await scope
    .from("deployments")
    .join("environments", "environments.id", "deployments.environment_id")
    .join("stacks", "stacks.id", "environments.stack_id")
    .join("stack_releases", "stack_releases.id", "deployments.release_id")
    .leftJoin("deployments as source", "source.id", "deployments.promoted_from_deployment_id")
    .leftJoin("environments as source_env", "source_env.id", "source.environment_id")
    .where("deployments.status", "AWAITING_APPROVAL")
    .orderBy("deployments.created_at")
    .limit(200)
    .select(
      "deployments.id",
      "deployments.kind",
      "deployments.created_at",
      "deployments.created_by",
      "deployments.created_by_type",
      "deployments.promoted_from_deployment_id",
      "environments.id as environment_id",
      "environments.name as environment_name",
      "environments.approval_role",
      "stacks.id as stack_id",
      "stacks.name as stack_name",
      "stack_releases.id as release_id",
      "stack_releases.version as release_version",
      "source_env.name as source_environment_name",
    )) as Array<{
    id: string;
    kind: string;
    created_at: Date;
    created_by: string | null;
    created_by_type: string | null;
    promoted_from_deployment_id: string | null;
    environment_id: string;
    environment_name: string;
    approval_role: string;
    stack_id: string;
    stack_name: string;
    release_id: string;
    release_version: number;
    source_environment_name: string | null;
  }>;
  const items = [];
  for (const r of rows) {
    const requester = await requesterUserId(scope, r as unknown as DeploymentRow);
    items.push({
      deploymentId: r.id,
      kind: r.kind,
      createdAt: r.created_at.toISOString(),
      createdBy: r.created_by,
      createdByType: r.created_by_type,
      stack: { id: r.stack_id, name: r.stack_name },
      environment: { id: r.environment_id, name: r.environment_name },
      release: { id: r.release_id, version: r.release_version },
      promotedFrom: r.promoted_from_deployment_id
        ? { deploymentId: r.promoted_from_deployment_id, environmentName: r.source_environment_name }
        : null,
      approvalRole: r.approval_role,
      // What the caller may do, so the UI shows buttons that will work (the server checks again).
      canDecide: requester !== principal.userId && roleMayApprove(principal.role, r.approval_role),
    });
  }
  return { items };
}

/**
 * Promotion: deploy to a target environment exactly the release that runs in a source environment of the same
 * stack (its current successful deployment), rendered with the target's own overlay and secrets. The new
 * deployment names the source deployment (`promoted_from_deployment_id`); when the target requires approval it
 * waits AWAITING_APPROVAL like any deployment (approvals.ts). The worker deploys the images the source deployment
 * recorded (image-pinning.ts `pinsOfPromotionSource`), so the target runs exactly what runs in the source.
 */
import { ConflictError, NotFoundError, UnprocessableError } from "../_shared/errors.js";
import type { RequestInfo } from "../_shared/principal.js";
import type { TenantScope } from "../_shared/tenant.js";
import { findEnvironment } from "../stacks/index.js";
import { createDeployment, type CreatedDeployment, type DeploymentActor } from "./deployments.logic.js";

export interface PromotionSource {
  id: string;
  release_id: string;
  environment_id: string;
}

/** The environment after `env` in its stack's pipeline (the next higher position), or null at the end. */
export async function nextInPipeline(
  scope: TenantScope,
  env: { stack_id: string; pipeline_position: number | null },
): Promise<{ id: string; name: string } | null> {
  if (env.pipeline_position === null) return null;
  const next = (await scope
    .from("environments")
    .where({ stack_id: env.stack_id })
    .where("pipeline_position", ">", env.pipeline_position)
    .orderBy("pipeline_position")
    .first("id", "name")) as { id: string; name: string } | undefined;
  return next ?? null;
}

/** The source environment's current successful deployment: the one that put its running release there. */
async function currentDeployment(scope: TenantScope, environmentId: string): Promise<PromotionSource | null> {
  const row = (await scope
    .from("deployments")
    .where({ environment_id: environmentId, status: "SUCCEEDED" })
    .orderBy([
      { column: "finished_at", order: "desc" },
      { column: "created_at", order: "desc" },
    ])
    .first("id", "release_id", "environment_id")) as PromotionSource | undefined;
  return row ?? null;
}

export async function promoteEnvironment(
  scope: TenantScope,
  actor: DeploymentActor,
  input: { sourceEnvironmentId: string; targetEnvironmentId: string | null; idempotencyKey: string | null },
  request: RequestInfo,
): Promise<CreatedDeployment> {
  const source = await findEnvironment(scope, input.sourceEnvironmentId);
  let targetId = input.targetEnvironmentId;
  if (targetId === null) {
    const next = await nextInPipeline(scope, source);
    if (!next) {
      throw new ConflictError(
        "NO_NEXT_ENVIRONMENT",
        `environment ${source.name} has no next environment in its stack's pipeline: name the target`,
      );
    }
    targetId = next.id;
  }
  if (targetId === source.id) {
    throw new UnprocessableError("PROMOTION_TO_ITSELF", "an environment cannot be promoted to itself");
  }
  const target = await findEnvironment(scope, targetId).catch((err: unknown) => {
    if (err instanceof NotFoundError)
      throw new NotFoundError("TARGET_ENVIRONMENT_NOT_FOUND", "no such target environment");
    throw err;
  });
  if (target.stack_id !== source.stack_id) {
    throw new UnprocessableError("PROMOTION_ACROSS_STACKS", "promotion goes between environments of one stack");
  }
  const from = await currentDeployment(scope, source.id);
  if (!from) {
    throw new ConflictError("NOTHING_TO_PROMOTE", `environment ${source.name} has no successful deployment to promote`);
  }
  // The images: the worker's render pins the ones the source deployment recorded (pinsOfPromotionSource).
  return createDeployment(
    scope,
    actor,
    {
      environmentId: target.id,
      releaseId: from.release_id,
      kind: "deploy",
      idempotencyKey: input.idempotencyKey,
      promotedFrom: { deploymentId: from.id, environmentName: source.name },
    },
    request,
  );
}

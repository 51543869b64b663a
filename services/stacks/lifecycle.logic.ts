/**
 * Changing and removing stacks and environments' settings: renames (display names only — an environment's Swarm
 * stack is its identity on the cluster and never changes), descriptions, deploy timeouts, and deleting a stack
 * that has no environments left (its releases go with it). Each change is audited with before and after.
 */
import { BadRequestError, ConflictError, NotFoundError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { OpBody } from "../_shared/rest.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import { findEnvironment, findStack } from "./stacks.logic.js";
import { environmentView, stackView, type EnvironmentRow, type StackRow } from "./views.js";

const UNIQUE_VIOLATION = "23505";
const isUniqueViolation = (err: unknown): boolean => (err as { code?: unknown }).code === UNIQUE_VIOLATION;

/** Field → [before, after] of the fields that actually change. */
function changes<T extends object>(before: T, patch: Partial<T>): Record<string, [unknown, unknown]> {
  const out: Record<string, [unknown, unknown]> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (value !== undefined && before[key as keyof T] !== value) out[key] = [before[key as keyof T], value];
  }
  return out;
}

export type UpdateStackInput = OpBody<"updateStack">;

export async function updateStack(
  scope: TenantScope,
  principal: Principal,
  stackId: string,
  input: UpdateStackInput,
  request: RequestInfo,
) {
  if (input.name === undefined && input.description === undefined) {
    throw new BadRequestError("NOTHING_TO_UPDATE", "give a new name or description");
  }
  const exists = () =>
    new ConflictError("STACK_EXISTS", `a stack named "${input.name ?? ""}" exists`, { name: input.name });
  try {
    return await scope.transaction(async (tx) => {
      const stack = await findStack(tx, stackId);
      if (input.name !== undefined && input.name !== stack.name) {
        if (await tx.from("stacks").where({ name: input.name }).whereNot({ id: stackId }).first("id")) throw exists();
      }
      const patch = { name: input.name, description: input.description };
      const changed = changes(stack, patch);
      if (Object.keys(changed).length === 0) return stackView(stack);
      const [row] = (await tx
        .from("stacks")
        .where({ id: stackId })
        .update(Object.fromEntries(Object.entries(changed).map(([k, [, after]]) => [k, after])))
        .returning("*")) as unknown as StackRow[];
      await recordAudit(
        tx,
        { ...actorOf(principal), action: "stack.update", targetType: "stack", targetId: stackId, data: { changed } },
        request,
      );
      return stackView(row!);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw exists();
    throw err;
  }
}

const SWARM_STACK_UNIQUE = "environments_cluster_swarm_stack_unique";
const swarmStackTaken = (clusterId: string) =>
  new ConflictError(
    "SWARM_STACK_TAKEN",
    "another environment on the target cluster already deploys into this environment's Swarm stack",
    { clusterId },
  );

/**
 * A move leaves the old cluster as it is, so it is only allowed while nothing of the environment runs there: no
 * deployment since it came to this cluster reached the agent (`started_at`) or is still waiting to. The row lock
 * serialises concurrent moves; a deployment goes to the cluster the environment has when the worker dispatches it.
 * Known gap: one created and dispatched in the instant between this check and the commit still reaches the old one.
 */
async function checkMove(tx: TenantScope, env: EnvironmentRow, clusterId: string): Promise<void> {
  // Another org's cluster is as absent as a cluster that does not exist.
  if (!(await tx.from("clusters").where({ id: clusterId }).first("id"))) {
    throw new NotFoundError("CLUSTER_NOT_FOUND", "no such cluster");
  }
  await tx.from("environments").where({ id: env.id }).forUpdate().first("id");
  const deployed = tx
    .from("deployments")
    .where({ environment_id: env.id })
    .where((q) => q.whereNotNull("started_at").orWhereIn("status", ["PENDING", "RUNNING"]));
  if (env.cluster_changed_at) deployed.where("created_at", ">", env.cluster_changed_at);
  const found = (await deployed.orderBy("created_at", "desc").first("id", "status")) as
    { id: string; status: string } | undefined;
  if (found) {
    throw new ConflictError(
      "ENVIRONMENT_DEPLOYED",
      "the environment has deployments on its current cluster: only an environment with nothing deployed can move " +
        "(delete it, which removes its Swarm stack, and create it on the other cluster)",
      { deploymentId: found.id, status: found.status },
    );
  }
  if (await tx.from("environments").where({ cluster_id: clusterId, swarm_stack: env.swarm_stack }).first("id")) {
    throw swarmStackTaken(clusterId);
  }
}

/** Only a stack without environments: deleting environments is the step that touches clusters. */
export async function deleteStack(scope: TenantScope, principal: Principal, stackId: string, request: RequestInfo) {
  return scope.transaction(async (tx) => {
    await tx.from("stacks").where({ id: stackId }).forUpdate().first("id");
    const stack = await findStack(tx, stackId);
    const environments = (await tx
      .from<EnvironmentRow>("environments")
      .where({ stack_id: stackId })
      .orderBy("name")
      .select("id", "name")) as Array<Pick<EnvironmentRow, "id" | "name">>;
    if (environments.length > 0) {
      throw new ConflictError(
        "STACK_HAS_ENVIRONMENTS",
        `the stack still has ${environments.length} environment(s) (${environments.map((e) => e.name).join(", ")}): delete them first`,
        { environments },
      );
    }
    const releases = (await tx.from("stack_releases").where({ stack_id: stackId }).count("* as n")) as Array<{
      n: string | number;
    }>;
    await tx.from("stacks").where({ id: stackId }).delete();
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "stack.delete",
        targetType: "stack",
        targetId: stackId,
        data: { name: stack.name, releasesDeleted: Number(releases[0]?.n ?? 0) },
      },
      request,
    );
    return stackView(stack);
  });
}

export type UpdateEnvironmentInput = OpBody<"updateEnvironment">;

export async function updateEnvironment(
  scope: TenantScope,
  principal: Principal,
  environmentId: string,
  input: UpdateEnvironmentInput,
  request: RequestInfo,
) {
  if (
    input.name === undefined &&
    input.deployTimeoutSeconds === undefined &&
    input.onFailure === undefined &&
    input.imageResolution === undefined &&
    input.clusterId === undefined &&
    input.pipelinePosition === undefined &&
    input.approval === undefined
  ) {
    throw new BadRequestError(
      "NOTHING_TO_UPDATE",
      "give a new name, deployTimeoutSeconds, onFailure, imageResolution, clusterId, pipelinePosition or approval",
    );
  }
  const exists = () =>
    new ConflictError("ENVIRONMENT_EXISTS", `the stack already has an environment named "${input.name ?? ""}"`, {
      name: input.name,
    });
  try {
    return await scope.transaction(async (tx) => {
      const env = await findEnvironment(tx, environmentId);
      if (input.name !== undefined && input.name !== env.name) {
        const clash = await tx
          .from("environments")
          .where({ stack_id: env.stack_id, name: input.name })
          .whereNot({ id: environmentId })
          .first("id");
        if (clash) throw exists();
      }
      const moving = input.clusterId !== undefined && input.clusterId !== env.cluster_id;
      if (moving) await checkMove(tx, env, input.clusterId!);
      if (input.pipelinePosition !== undefined && input.pipelinePosition !== null) {
        const taken = (await tx
          .from("environments")
          .where({ stack_id: env.stack_id, pipeline_position: input.pipelinePosition })
          .whereNot({ id: environmentId })
          .first("name")) as { name: string } | undefined;
        if (taken) throw positionTaken(input.pipelinePosition, taken.name);
      }
      const changed = changes(env, {
        name: input.name,
        deploy_timeout_seconds: input.deployTimeoutSeconds,
        on_failure: input.onFailure,
        image_resolution: input.imageResolution,
        cluster_id: input.clusterId,
        pipeline_position: input.pipelinePosition,
        approval_required: input.approval?.required,
        approval_role: input.approval?.role,
      });
      if (Object.keys(changed).length === 0) return environmentView(env);
      const [row] = (await tx
        .from("environments")
        .where({ id: environmentId })
        .update({
          ...Object.fromEntries(Object.entries(changed).map(([k, [, after]]) => [k, after])),
          ...(moving ? { cluster_changed_at: tx.db.fn.now() } : {}),
        })
        .returning("*")) as unknown as EnvironmentRow[];
      await recordAudit(
        tx,
        {
          ...actorOf(principal),
          action: "environment.update",
          targetType: "environment",
          targetId: environmentId,
          data: { stackId: env.stack_id, swarmStack: env.swarm_stack, changed },
        },
        request,
      );
      return environmentView(row!);
    });
  } catch (err) {
    if (isUniqueViolation(err) && (err as { constraint?: unknown }).constraint === SWARM_STACK_UNIQUE) {
      throw swarmStackTaken(input.clusterId ?? "");
    }
    if (isUniqueViolation(err) && (err as { constraint?: unknown }).constraint === PIPELINE_POSITION_UNIQUE) {
      throw positionTaken(input.pipelinePosition ?? null, null);
    }
    if (isUniqueViolation(err)) throw exists();
    throw err;
  }
}

const PIPELINE_POSITION_UNIQUE = "environments_pipeline_position_unique";
const positionTaken = (position: number | null, holder: string | null) =>
  new ConflictError(
    "PIPELINE_POSITION_TAKEN",
    `another environment${holder ? ` (${holder})` : ""} of this stack has pipeline position ${String(position)}`,
    { pipelinePosition: position, environment: holder },
  );

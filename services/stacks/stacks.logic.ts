/** Stacks and their environments: creation (audited), lists and detail views, always inside the caller's org. */
import { publishEnvironmentChanged } from "./integration-events.js";
import { ConflictError, NotFoundError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import { getRelease, listReleases, type Release } from "./releases-repo.js";
import { checkSwarmStack, defaultSwarmStack } from "./swarm-stack.js";
import { environmentView, releaseSummaryView, stackView, type EnvironmentRow, type StackRow } from "./views.js";
import type { OpBody } from "../_shared/rest.js";

/** SQLSTATE of a unique-constraint violation: the loser of a race between two identical creations. */
const UNIQUE_VIOLATION = "23505";

const isUniqueViolation = (err: unknown): boolean => (err as { code?: unknown }).code === UNIQUE_VIOLATION;
/** The constraint (migrations/…_add_environment_swarm_stack_unique_per_cluster.ts) that keeps Swarm stacks apart. */
const SWARM_STACK_UNIQUE = "environments_cluster_swarm_stack_unique";

export async function findStack(scope: TenantScope, stackId: string): Promise<StackRow> {
  const row = (await scope.from<StackRow>("stacks").where({ id: stackId }).first()) as StackRow | undefined;
  if (!row) throw new NotFoundError("STACK_NOT_FOUND", "stack not found");
  return row;
}

export async function findEnvironment(scope: TenantScope, environmentId: string): Promise<EnvironmentRow> {
  const row = (await scope.from<EnvironmentRow>("environments").where({ id: environmentId }).first()) as
    EnvironmentRow | undefined;
  if (!row) throw new NotFoundError("ENVIRONMENT_NOT_FOUND", "environment not found");
  return row;
}

export type CreateStackInput = OpBody<"createStack">;

export async function createStack(
  scope: TenantScope,
  principal: Principal,
  input: CreateStackInput,
  request: RequestInfo,
) {
  const exists = () => new ConflictError("STACK_EXISTS", `a stack named "${input.name}" exists`, { name: input.name });
  try {
    return await scope.transaction(async (tx) => {
      if (await tx.from("stacks").where({ name: input.name }).first("id")) throw exists();
      const [row] = (await tx
        .insert("stacks", { name: input.name, description: input.description ?? "", created_by: principal.userId })
        .returning("*")) as StackRow[];
      if (!row) throw new Error("stacks insert returned no row");
      await recordAudit(
        tx,
        {
          ...actorOf(principal),
          action: "stack.create",
          targetType: "stack",
          targetId: row.id,
          data: { name: row.name },
        },
        request,
      );
      return stackView(row);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw exists();
    throw err;
  }
}

/** The stack with its environments and its newest release. */
export async function getStack(scope: TenantScope, stackId: string) {
  const stack = await findStack(scope, stackId);
  const [environments, latest] = await Promise.all([
    scope.from<EnvironmentRow>("environments").where({ stack_id: stackId }).orderBy("name") as Promise<
      EnvironmentRow[]
    >,
    listReleases(scope, stackId, { limit: 1 }),
  ]);
  const release = latest[0];
  // The newest deployment of each environment, in one query.
  const last = (await scope
    .from("deployments")
    .join("stack_releases", "stack_releases.id", "deployments.release_id")
    .whereIn(
      "deployments.environment_id",
      environments.map((e) => e.id),
    )
    .distinctOn("deployments.environment_id")
    .orderBy([{ column: "deployments.environment_id" }, { column: "deployments.created_at", order: "desc" }])
    .select(
      "deployments.environment_id",
      "deployments.id",
      "deployments.status",
      "deployments.created_at",
      "stack_releases.version",
    )) as Array<{ environment_id: string; id: string; status: string; created_at: Date; version: number }>;
  const lastByEnvironment = new Map(last.map((d) => [d.environment_id, d]));
  // What each environment runs: the release of its newest successful deployment (what a promotion takes).
  const succeeded = (await scope
    .from("deployments")
    .join("stack_releases", "stack_releases.id", "deployments.release_id")
    .whereIn(
      "deployments.environment_id",
      environments.map((e) => e.id),
    )
    .where("deployments.status", "SUCCEEDED")
    .distinctOn("deployments.environment_id")
    .orderBy([{ column: "deployments.environment_id" }, { column: "deployments.finished_at", order: "desc" }])
    .select("deployments.environment_id", "deployments.id", "stack_releases.version")) as Array<{
    environment_id: string;
    id: string;
    version: number;
  }>;
  const currentByEnvironment = new Map(succeeded.map((d) => [d.environment_id, d]));
  return {
    ...stackView(stack),
    environments: environments.map((e) => {
      const d = lastByEnvironment.get(e.id);
      const current = currentByEnvironment.get(e.id);
      return {
        ...environmentView(e),
        lastDeployment: d
          ? { id: d.id, status: d.status, releaseVersion: d.version, createdAt: d.created_at.toISOString() }
          : null,
        currentRelease: current ? { version: current.version, deploymentId: current.id } : null,
      };
    }),
    latestRelease: release ? releaseSummaryView(release) : null,
  };
}

export type CreateEnvironmentInput = OpBody<"createEnvironment">;

/** The environment and its (empty) overlay, created together. */
export async function createEnvironment(
  scope: TenantScope,
  principal: Principal,
  stackId: string,
  input: CreateEnvironmentInput,
  request: RequestInfo,
) {
  if (input.swarmStack !== undefined) checkSwarmStack(input.swarmStack);
  const exists = () =>
    new ConflictError("ENVIRONMENT_EXISTS", `the stack already has an environment named "${input.name}"`, {
      name: input.name,
    });
  let swarmStack = input.swarmStack;
  const taken = () =>
    new ConflictError(
      "SWARM_STACK_TAKEN",
      `another environment on this cluster already deploys into the Swarm stack "${swarmStack ?? ""}": choose another swarmStack`,
      { swarmStack },
    );
  try {
    return await scope.transaction(async (tx) => {
      const stack = await findStack(tx, stackId);
      // Another org's cluster is as absent as a cluster that does not exist.
      if (!(await tx.from("clusters").where({ id: input.clusterId }).first("id"))) {
        throw new NotFoundError("CLUSTER_NOT_FOUND", "no such cluster");
      }
      if (await tx.from("environments").where({ stack_id: stackId, name: input.name }).first("id")) throw exists();
      swarmStack ??= defaultSwarmStack(stack.name, input.name);
      // Clusters belong to one org, so the org scope sees every environment of the cluster.
      if (await tx.from("environments").where({ cluster_id: input.clusterId, swarm_stack: swarmStack }).first("id")) {
        throw taken();
      }
      const [row] = (await tx
        .insert("environments", {
          stack_id: stackId,
          name: input.name,
          cluster_id: input.clusterId,
          swarm_stack: swarmStack,
          ...(input.deployTimeoutSeconds !== undefined ? { deploy_timeout_seconds: input.deployTimeoutSeconds } : {}),
          ...(input.onFailure !== undefined ? { on_failure: input.onFailure } : {}),
          // `always` unless asked otherwise; the column's default (`never`) is what existing environments kept.
          image_resolution: input.imageResolution ?? "always",
        })
        .returning("*")) as EnvironmentRow[];
      if (!row) throw new Error("environments insert returned no row");
      await tx.insert("stack_overlays", { environment_id: row.id, updated_by: principal.userId });
      await recordAudit(
        tx,
        {
          ...actorOf(principal),
          action: "environment.create",
          targetType: "environment",
          targetId: row.id,
          data: { stackId, name: row.name, clusterId: row.cluster_id, swarmStack: row.swarm_stack },
        },
        request,
      );
      publishEnvironmentChanged(tx.db, scope.orgId, {
        change: "created",
        environmentId: row.id,
        stackId,
        name: row.name,
        clusterId: row.cluster_id,
      });
      return environmentView(row);
    });
  } catch (err) {
    if (isUniqueViolation(err) && (err as { constraint?: unknown }).constraint === SWARM_STACK_UNIQUE) throw taken();
    if (isUniqueViolation(err)) throw exists();
    throw err;
  }
}

export async function listEnvironments(scope: TenantScope, stackId: string) {
  await findStack(scope, stackId);
  const rows = (await scope
    .from<EnvironmentRow>("environments")
    .where({ stack_id: stackId })
    .orderBy("name")) as EnvironmentRow[];
  return { items: rows.map(environmentView) };
}

export interface DeployedRelease {
  deploymentId: string;
  finishedAt: Date | null;
  /** The compose the deployment sent (null for deployments recorded before this was kept). */
  renderedYaml: string | null;
  release: Release;
}

/** The release of the environment's last SUCCEEDED deployment: what the cluster should be running now. */
export async function lastDeployedRelease(
  scope: TenantScope,
  environmentId: string,
): Promise<DeployedRelease | undefined> {
  const row = (await scope
    .from("deployments")
    .where({ environment_id: environmentId, status: "SUCCEEDED" })
    .orderBy([
      { column: "finished_at", order: "desc" },
      { column: "created_at", order: "desc" },
    ])
    .first("id", "release_id", "finished_at", "rendered_yaml")) as
    { id: string; release_id: string; finished_at: Date | null; rendered_yaml: string | null } | undefined;
  if (!row) return undefined;
  return {
    deploymentId: row.id,
    finishedAt: row.finished_at,
    renderedYaml: row.rendered_yaml,
    release: await getRelease(scope, row.release_id),
  };
}

/** The environment with its stack, cluster and current desired release (null before the first successful deploy). */
export async function getEnvironment(scope: TenantScope, environmentId: string) {
  const environment = await findEnvironment(scope, environmentId);
  const [stack, cluster, deployed] = await Promise.all([
    findStack(scope, environment.stack_id),
    scope.from("clusters").where({ id: environment.cluster_id }).first("id", "name") as Promise<
      { id: string; name: string } | undefined
    >,
    lastDeployedRelease(scope, environmentId),
  ]);
  // The foreign key (ON DELETE RESTRICT) keeps an environment's cluster in place.
  if (!cluster) throw new Error(`environment ${environmentId} has no cluster row`);
  return {
    ...environmentView(environment),
    stack: { id: stack.id, name: stack.name },
    cluster: { id: cluster.id, name: cluster.name },
    currentRelease: deployed ? releaseSummaryView(deployed.release) : null,
    currentDeploymentId: deployed?.deploymentId ?? null,
  };
}

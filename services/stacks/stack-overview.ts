/**
 * The stacks list as an operator reads it: every stack with each environment's cluster, what runs there (the
 * last successful deployment's release), its newest deployment and the replicas the cluster's last inventory
 * reported. A fixed number of queries for the whole org, never one per stack or environment. Health is said only
 * from an online cluster's inventory; otherwise it is "unknown" with the cluster's status, never a guess.
 */
import type { InventoryStack } from "../../nats/protocol/messages.js";
import type { TenantScope } from "../_shared/tenant.js";
import { effectiveClusterStatus, type ClusterStatus } from "../clusters/index.js";
import { stackView, type EnvironmentRow, type StackRow } from "./views.js";

interface ClusterFacts {
  id: string;
  name: string;
  status: ClusterStatus;
  last_seen_at: Date | null;
  inventory_at: Date | null;
  stacks: InventoryStack[] | null;
}

interface DeploymentFacts {
  environment_id: string;
  id: string;
  status: string;
  created_at: Date;
  finished_at: Date | null;
  version: number;
}

export type EnvironmentHealth = "healthy" | "degraded" | "not_running" | "unknown";

/** The newest deployment of each environment (optionally only those with `status`), one query. */
function newestDeployments(scope: TenantScope, environmentIds: string[], status?: string) {
  const q = scope
    .from("deployments")
    .join("stack_releases", "stack_releases.id", "deployments.release_id")
    .whereIn("deployments.environment_id", environmentIds)
    .distinctOn("deployments.environment_id")
    .orderBy([{ column: "deployments.environment_id" }, { column: "deployments.created_at", order: "desc" }])
    .select(
      "deployments.environment_id",
      "deployments.id",
      "deployments.status",
      "deployments.created_at",
      "deployments.finished_at",
      "stack_releases.version",
    );
  if (status) q.where("deployments.status", status);
  return q as unknown as Promise<DeploymentFacts[]>;
}

function health(cluster: ClusterFacts | undefined, clusterStatus: string, swarmStack: string) {
  if (!cluster || clusterStatus !== "online" || !cluster.inventory_at || !cluster.stacks) {
    return { health: "unknown" as const, replicas: null };
  }
  const seen = cluster.stacks.find((s) => s.name === swarmStack);
  if (!seen || seen.serviceCount === 0) return { health: "not_running" as const, replicas: null };
  return {
    health: seen.converged ? ("healthy" as const) : ("degraded" as const),
    replicas: { running: seen.runningReplicas, desired: seen.desiredReplicas, services: seen.serviceCount },
  };
}

export async function listStacksOverview(scope: TenantScope, offlineAfterSeconds: number, now = Date.now()) {
  const stacks = (await scope.from<StackRow>("stacks").orderBy("name")) as StackRow[];
  const environments = (await scope.from<EnvironmentRow>("environments").orderBy("name")) as EnvironmentRow[];
  const envIds = environments.map((e) => e.id);
  const clusterIds = [...new Set(environments.map((e) => e.cluster_id))];
  const [clusters, newest, succeeded] = await Promise.all([
    scope
      .from("clusters")
      .whereIn("clusters.id", clusterIds)
      .select(
        "id",
        "name",
        "status",
        "last_seen_at",
        "inventory_at",
        scope.db.raw("inventory_json -> 'stacks' as stacks"),
      ) as unknown as Promise<ClusterFacts[]>,
    newestDeployments(scope, envIds),
    newestDeployments(scope, envIds, "SUCCEEDED"),
  ]);
  const clusterById = new Map(clusters.map((c) => [c.id, c]));
  const newestBy = new Map(newest.map((d) => [d.environment_id, d]));
  const succeededBy = new Map(succeeded.map((d) => [d.environment_id, d]));
  const envsByStack = new Map<string, EnvironmentRow[]>();
  for (const e of environments) envsByStack.set(e.stack_id, [...(envsByStack.get(e.stack_id) ?? []), e]);

  return {
    items: stacks.map((s) => ({
      ...stackView(s),
      environments: (envsByStack.get(s.id) ?? []).map((e) => {
        const cluster = clusterById.get(e.cluster_id);
        const clusterStatus = cluster ? effectiveClusterStatus(cluster, offlineAfterSeconds, now) : "offline";
        const last = newestBy.get(e.id);
        const current = succeededBy.get(e.id);
        return {
          id: e.id,
          name: e.name,
          cluster: { id: e.cluster_id, name: cluster?.name ?? null, status: clusterStatus },
          ...health(cluster, clusterStatus, e.swarm_stack),
          observedAt: cluster?.inventory_at?.toISOString() ?? null,
          currentRelease: current
            ? { version: current.version, deployedAt: (current.finished_at ?? current.created_at).toISOString() }
            : null,
          lastDeployment: last
            ? {
                id: last.id,
                status: last.status,
                releaseVersion: last.version,
                createdAt: last.created_at.toISOString(),
                finishedAt: last.finished_at?.toISOString() ?? null,
              }
            : null,
        };
      }),
    })),
  };
}

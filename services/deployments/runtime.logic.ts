/** Live operations on an environment's Swarm stack through its agent: status (with drift), scale, logs. */
import type { NatsConnection } from "nats";
import { parse } from "yaml";
import { AgentRejectedError, AgentUnreachableError, sendAgentCommand } from "../_shared/agent-commands.js";
import { NotFoundError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import type { GetStatusResult, InventoryService } from "../../nats/protocol/messages.js";
import { findEnvironment } from "../stacks/index.js";

export interface RuntimeDeps {
  nc: NatsConnection;
  commandSigningSeed: string;
  statusTimeoutMs: number;
}

interface DesiredService {
  image: string | null;
  replicas: number | null;
}

/**
 * Image and replicas per service of what the environment last deployed successfully: the compose it sent
 * (release + overlay), or the release's own compose for deployments recorded before that was kept.
 */
async function desiredRelease(scope: TenantScope, environmentId: string) {
  const row = (await scope
    .from("deployments")
    .join("stack_releases", "stack_releases.id", "deployments.release_id")
    .where({ "deployments.environment_id": environmentId, "deployments.status": "SUCCEEDED" })
    .orderBy("deployments.finished_at", "desc")
    .first(
      "stack_releases.id",
      "stack_releases.version",
      "stack_releases.compose_yaml",
      "deployments.rendered_yaml",
    )) as { id: string; version: number; compose_yaml: string; rendered_yaml: string | null } | undefined;
  if (!row) return null;
  const doc = parse(row.rendered_yaml ?? row.compose_yaml) as {
    services?: Record<string, { image?: string; deploy?: { replicas?: number; mode?: string } }>;
  };
  const services: Record<string, DesiredService> = {};
  for (const [name, svc] of Object.entries(doc.services ?? {})) {
    services[name] = {
      image: svc.image ?? null,
      replicas: svc.deploy?.mode === "global" ? null : (svc.deploy?.replicas ?? 1),
    };
  }
  return { releaseId: row.id, version: row.version, services };
}

/** Drops the registry digest Swarm appends (`image:tag@sha256:…`) before comparing images. */
const withoutDigest = (image: string): string => image.split("@")[0] ?? image;

export async function environmentStatus(deps: RuntimeDeps, scope: TenantScope, environmentId: string) {
  const env = await findEnvironment(scope, environmentId);
  const stackName = env.swarm_stack;
  const desired = await desiredRelease(scope, environmentId);
  let live: GetStatusResult["services"];
  let source: "agent" | "inventory";
  let observedAt: string;
  let agentError: string | null = null;
  try {
    const result = await sendAgentCommand(
      deps.nc,
      deps.commandSigningSeed,
      { orgId: scope.orgId, clusterId: env.cluster_id },
      "GetStatus",
      { stackName },
      { timeoutMs: deps.statusTimeoutMs },
    );
    live = result.services;
    source = "agent";
    observedAt = new Date().toISOString();
  } catch (err) {
    if (!(err instanceof AgentUnreachableError)) throw err;
    agentError = err.message;
    const cluster = (await scope
      .from("clusters")
      .where({ id: env.cluster_id })
      .first("inventory_json", "inventory_at")) as
      | {
          inventory_json: {
            services?: InventoryService[];
          } | null;
          inventory_at: Date | null;
        }
      | undefined;
    live = (cluster?.inventory_json?.services ?? [])
      .filter((s) => s.stack === stackName)
      .map((s) => ({ ...s, tasks: [] }));
    source = "inventory";
    observedAt = cluster?.inventory_at?.toISOString() ?? new Date(0).toISOString();
  }
  const services = live.map((s) => {
    const key = s.name.startsWith(`${stackName}_`) ? s.name.slice(stackName.length + 1) : s.name;
    const want = desired?.services[key];
    const drift: string[] = [];
    if (desired && !want) drift.push("not in the desired release");
    if (want?.image && withoutDigest(s.image) !== want.image)
      drift.push(`image ${withoutDigest(s.image)} ≠ desired ${want.image}`);
    if (want?.replicas !== null && want?.replicas !== undefined && s.desiredReplicas !== want.replicas)
      drift.push(`replicas ${s.desiredReplicas} ≠ desired ${want.replicas}`);
    return {
      name: key,
      swarmName: s.name,
      image: s.image,
      mode: s.mode,
      desiredReplicas: s.desiredReplicas,
      runningReplicas: s.runningReplicas,
      drift,
      tasks: s.tasks.map((t) => ({
        id: t.id,
        state: t.state,
        desiredState: t.desiredState,
        message: t.message,
        error: t.error,
        nodeId: t.nodeId,
        timestamp: t.timestamp,
      })),
    };
  });
  const missing = desired ? Object.keys(desired.services).filter((k) => !services.some((s) => s.name === k)) : [];
  return {
    environmentId,
    stackName,
    source,
    observedAt,
    ageSeconds: Math.max(0, Math.round((Date.now() - Date.parse(observedAt)) / 1000)),
    agentError,
    desiredRelease: desired ? { id: desired.releaseId, version: desired.version } : null,
    inSync: desired !== null && missing.length === 0 && services.every((s) => s.drift.length === 0),
    missingServices: missing,
    services,
  };
}

/** The agent's "no such service" becomes the API's 404; other refusals stay 502 with the agent's code. */
function notFoundIfUnknownService(err: unknown, service: string): never {
  if (err instanceof AgentRejectedError && err.agentCode === "SERVICE_NOT_FOUND") {
    throw new NotFoundError("SERVICE_NOT_FOUND", `the stack has no service "${service}"`);
  }
  throw err;
}

export async function scaleService(
  deps: RuntimeDeps & { scaleTimeoutMs: number },
  scope: TenantScope,
  principal: Principal,
  input: { environmentId: string; service: string; replicas: number },
  request: RequestInfo,
) {
  const env = await findEnvironment(scope, input.environmentId);
  const stackName = env.swarm_stack;
  // The agent call runs inside the transaction that writes its audit row, with the outcome either way: the
  // environment row lock serialises scales of one environment and proves the database writable before the
  // swarm is touched, so a scale is never done without its audit row (and a failed one is recorded too).
  const outcome = await scope.transaction(async (tx) => {
    await tx.from("environments").where({ id: env.id }).forUpdate().first("id");
    const audit = (data: Record<string, unknown>) =>
      recordAudit(
        tx,
        {
          ...actorOf(principal),
          action: "service.scale",
          targetType: "environment",
          targetId: env.id,
          data: { service: input.service, requested: input.replicas, ...data },
        },
        request,
      );
    try {
      const result = await sendAgentCommand(
        deps.nc,
        deps.commandSigningSeed,
        { orgId: scope.orgId, clusterId: env.cluster_id },
        "ScaleService",
        { stackName, service: input.service, replicas: input.replicas },
        { timeoutMs: deps.scaleTimeoutMs, ttlMs: deps.scaleTimeoutMs },
      );
      await audit({ outcome: "succeeded", from: result.previousReplicas, to: result.replicas });
      return { ok: true as const, result };
    } catch (err) {
      const e = err as { type?: unknown; message?: unknown; agentCode?: unknown };
      await audit({
        outcome: "failed",
        code: typeof e.agentCode === "string" ? e.agentCode : typeof e.type === "string" ? e.type : "ERROR",
        reason: typeof e.message === "string" ? e.message.slice(0, 300) : "unknown error",
      });
      return { ok: false as const, error: err };
    }
  });
  if (!outcome.ok) notFoundIfUnknownService(outcome.error, input.service);
  const result = outcome.result;
  return {
    environmentId: env.id,
    service: input.service,
    swarmService: result.service,
    previousReplicas: result.previousReplicas,
    replicas: result.replicas,
  };
}

export const MAX_LOG_RESPONSE_BYTES = 256 * 1024;

export async function serviceLogs(
  deps: RuntimeDeps,
  scope: TenantScope,
  input: { environmentId: string; service: string; tail: number; since: number | null },
) {
  const env = await findEnvironment(scope, input.environmentId);
  const stackName = env.swarm_stack;
  const result = await sendAgentCommand(
    deps.nc,
    deps.commandSigningSeed,
    { orgId: scope.orgId, clusterId: env.cluster_id },
    "GetLogs",
    { stackName, service: input.service, tail: input.tail, since: input.since, maxBytes: MAX_LOG_RESPONSE_BYTES },
    { timeoutMs: deps.statusTimeoutMs * 2 },
  ).catch((err: unknown) => notFoundIfUnknownService(err, input.service));
  return { service: input.service, lines: result.lines, truncated: result.truncated };
}

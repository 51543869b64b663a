/** Live operations on an environment's Swarm stack through its agent: status (with drift), scale, logs. */
import type { NatsConnection } from "nats";
import { parse } from "yaml";
import { AgentRejectedError, AgentUnreachableError, sendAgentCommand } from "../_shared/agent-commands.js";
import { ConflictError, NotFoundError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import type { GetStatusResult, InventoryService } from "../../nats/protocol/messages.js";
import { agentPresence, isSilent, silenceWords } from "../clusters/index.js";
import { findEnvironment } from "../stacks/index.js";
import { assertEnvironmentIdle, ENVIRONMENT_BUSY } from "./busy.js";
import { desiredServiceSpecs, type DesiredServiceSpec } from "./desired-spec.js";
import { compareServiceSpec, imageMatches, type DriftField } from "./drift.js";

export interface RuntimeDeps {
  nc: NatsConnection;
  commandSigningSeed: string;
  statusTimeoutMs: number;
  /** A cluster whose last heartbeat is older than this is offline (clusters.offlineAfterSeconds). */
  offlineAfterSeconds: number;
}

interface DesiredService {
  image: string | null;
  replicas: number | null;
  /** The full spec, when the deployment kept the compose it sent (else only image and replicas are compared). */
  spec: DesiredServiceSpec | null;
}

/**
 * What the environment last deployed successfully, per service: the compose it sent (release + overlay), or the
 * release's own compose for deployments recorded before that was kept (then only image and replicas count).
 */
export async function desiredRelease(scope: TenantScope, environmentId: string, stackName: string) {
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
  const specs = row.rendered_yaml !== null ? desiredServiceSpecs(doc, stackName) : {};
  const services: Record<string, DesiredService> = {};
  for (const [name, svc] of Object.entries(doc.services ?? {})) {
    services[name] = {
      image: svc.image ?? null,
      replicas: svc.deploy?.mode === "global" ? null : (svc.deploy?.replicas ?? 1),
      spec: specs[name] ?? null,
    };
  }
  return { releaseId: row.id, version: row.version, services };
}

/** The compose keys of the services the environment last deployed successfully, or null before its first. */
export async function deployedServiceNames(
  scope: TenantScope,
  environmentId: string,
  stackName: string,
): Promise<string[] | null> {
  const desired = await desiredRelease(scope, environmentId, stackName);
  return desired ? Object.keys(desired.services) : null;
}

/** Image and replicas only: what can be compared without the live spec (older agents, the inventory). */
function partialDrift(want: DesiredService, live: { image: string; desiredReplicas: number }, replicas: number | null) {
  const fields: DriftField[] = [];
  if (want.image && !imageMatches(want.image, live.image)) {
    fields.push({
      field: "image",
      desired: want.image,
      live: live.image,
      summary: `image ${live.image.split("@")[0]} ≠ desired ${want.image}`,
    });
  }
  if (replicas !== null && live.desiredReplicas !== replicas) {
    fields.push({
      field: "replicas",
      desired: replicas,
      live: live.desiredReplicas,
      summary: `replicas ${live.desiredReplicas} ≠ desired ${replicas}`,
    });
  }
  return fields;
}

export type SyncState = "in_sync" | "drifted" | "not_deployed" | "unknown";

/**
 * The live state of the environment's Swarm stack beside its desired state. Asked of the agent; when the agent
 * is offline (or does not answer) the services are the last inventory and the sync state is "unknown": an
 * old observation is never reported as "in sync".
 */
export async function environmentStatus(deps: RuntimeDeps, scope: TenantScope, environmentId: string) {
  const env = await findEnvironment(scope, environmentId);
  const stackName = env.swarm_stack;
  const desired = await desiredRelease(scope, environmentId, stackName);
  const overrides = env.replica_overrides ?? {};
  let agent = await agentPresence(scope, env.cluster_id, deps.offlineAfterSeconds);
  let live: GetStatusResult["services"] | null = null;
  let source: "agent" | "inventory" = "agent";
  let observedAt = new Date().toISOString();
  let agentError: string | null = null;
  // Asked even when the heartbeat says offline: an agent that answers is there (no responders is immediate).
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
    // It answered: it is connected, whatever the last heartbeat flush says.
    if (isSilent(agent.status)) agent = { ...agent, status: "online", offlineSince: null };
  } catch (err) {
    if (!(err instanceof AgentUnreachableError)) throw err;
    agentError = isSilent(agent.status)
      ? agent.offlineSince
        ? `the cluster's agent is ${silenceWords(agent.status)} since ${agent.offlineSince} (${err.message})`
        : `the cluster's agent has never connected (${err.message})`
      : err.message;
  }
  if (live === null) {
    const cluster = (await scope
      .from("clusters")
      .where({ id: env.cluster_id })
      .first("inventory_json", "inventory_at")) as
      { inventory_json: { services?: InventoryService[] } | null; inventory_at: Date | null } | undefined;
    live = (cluster?.inventory_json?.services ?? [])
      .filter((s) => s.stack === stackName)
      .map((s) => ({ ...s, tasks: [] }));
    source = "inventory";
    observedAt = cluster?.inventory_at?.toISOString() ?? new Date(0).toISOString();
  }
  const services = live.map((s) => {
    const key = composeName(stackName, s.name);
    const want = desired?.services[key];
    const wantReplicas = want && want.replicas !== null ? (overrides[key] ?? want.replicas) : null;
    // Full when both sides have the spec; otherwise image and replicas, and the answer says it was partial.
    const full = Boolean(want?.spec && s.spec);
    const driftFields: DriftField[] = !want
      ? []
      : want.spec && s.spec
        ? compareServiceSpec({ ...want.spec, replicas: wantReplicas }, s.spec)
        : partialDrift(want, { image: s.spec?.image ?? s.image, desiredReplicas: s.desiredReplicas }, wantReplicas);
    const drift: string[] = [];
    if (desired && !want) drift.push("not in the desired release");
    drift.push(...driftFields.map((f) => f.summary));
    return {
      name: key,
      swarmName: s.name,
      image: s.image,
      mode: s.mode,
      desiredReplicas: s.desiredReplicas,
      runningReplicas: s.runningReplicas,
      replicaOverride: overrides[key] ?? null,
      drift,
      driftFields,
      comparison: (full ? "full" : "partial") as "full" | "partial",
      updateStatus: s.updateStatus ?? null,
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
  const drifted = missing.length > 0 || services.some((s) => s.drift.length > 0);
  const extra = desired ? services.filter((s) => !desired.services[s.name]).map((s) => s.name) : [];
  const comparison = services.every((s) => s.comparison === "full" || !desired?.services[s.name])
    ? ("full" as const)
    : ("partial" as const);
  const partialNote =
    comparison === "partial"
      ? " (partial: only image and replicas compared; the agent or the deployment record has no full spec)"
      : "";
  let sync: { state: SyncState; reason: string };
  if (source === "inventory") {
    sync = {
      state: "unknown",
      reason: isSilent(agent.status)
        ? agent.offlineSince
          ? `unknown (agent ${agent.status === "link_down" ? "link down" : "offline"} since ${agent.offlineSince})`
          : "unknown (the agent has never connected)"
        : "unknown (the agent did not answer)",
    };
  } else if (!desired) {
    sync = { state: "not_deployed", reason: "nothing was deployed successfully yet" };
  } else if (drifted) {
    sync = { state: "drifted", reason: `the live stack differs from release v${desired.version}${partialNote}` };
  } else {
    sync = { state: "in_sync", reason: `in sync with release v${desired.version}${partialNote}` };
  }
  return {
    environmentId,
    stackName,
    source,
    observedAt,
    ageSeconds: Math.max(0, Math.round((Date.now() - Date.parse(observedAt)) / 1000)),
    agentError,
    agent,
    desiredRelease: desired ? { id: desired.releaseId, version: desired.version } : null,
    inSync: sync.state === "unknown" ? null : sync.state === "in_sync",
    sync,
    replicaOverrides: overrides,
    missingServices: missing,
    extraServices: extra,
    driftComparison: source === "inventory" ? null : comparison,
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

/** Agent codes of a scale that set the new count on the swarm but did not see it converge. */
const SET_BUT_NOT_CONVERGED = new Set(["SCALE_TIMED_OUT", "SCALE_FAILED"]);

/** The compose name of a service (`web`), whether the caller named it so or by its Swarm name (`<stack>_web`). */
export const composeName = (stackName: string, swarmName: string): string =>
  swarmName.startsWith(`${stackName}_`) ? swarmName.slice(stackName.length + 1) : swarmName;

/**
 * Scales one service through the agent and records the count as the environment's desired state
 * (environments.replica_overrides), which every later deploy renders, so a redeploy keeps it.
 *
 * Refused with 409 ENVIRONMENT_BUSY while a deployment of the environment is PENDING or RUNNING: a scale beside a
 * rolling update would wait on that update and race it. The command's deadline (its expiry) is what the agent
 * enforces: it does not start the scale past it and stops waiting before it, so when this side gives up the
 * scale was not started by a late command.
 */
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
  // environment row lock serialises scales and deployment dispatch of one environment and proves the database
  // writable before the swarm is touched, so a scale is never done without its audit row (and a failed one is
  // recorded too).
  const outcome = await scope.transaction(async (tx) => {
    await tx.from("environments").where({ id: env.id }).forUpdate().first("id");
    await assertEnvironmentIdle(tx, env.id, "scale");
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
    const remember = (service: string) =>
      tx
        .from("environments")
        .where({ id: env.id })
        .update({
          replica_overrides: tx.db.raw("replica_overrides || ?::jsonb", [
            JSON.stringify({ [composeName(stackName, service)]: input.replicas }),
          ]),
        });
    try {
      const result = await sendAgentCommand(
        deps.nc,
        deps.commandSigningSeed,
        { orgId: scope.orgId, clusterId: env.cluster_id },
        "ScaleService",
        { stackName, service: input.service, replicas: input.replicas },
        { timeoutMs: deps.scaleTimeoutMs, ttlMs: deps.scaleTimeoutMs },
      );
      await remember(input.service);
      await audit({ outcome: "succeeded", from: result.previousReplicas, to: result.replicas, desiredState: true });
      return { ok: true as const, result };
    } catch (err) {
      const e = err as { type?: unknown; message?: unknown; agentCode?: unknown };
      const code = typeof e.agentCode === "string" ? e.agentCode : typeof e.type === "string" ? e.type : "ERROR";
      // The swarm has the new count even though it did not converge: the desired state says so too.
      const setOnSwarm = SET_BUT_NOT_CONVERGED.has(code);
      if (setOnSwarm) await remember(input.service);
      await audit({
        outcome: "failed",
        code,
        reason: typeof e.message === "string" ? e.message.slice(0, 300) : "unknown error",
        ...(setOnSwarm ? { desiredState: true } : {}),
      });
      return { ok: false as const, error: err };
    }
  });
  if (!outcome.ok) throw scaleError(outcome.error, input.service, deps.scaleTimeoutMs);
  const result = outcome.result;
  return {
    environmentId: env.id,
    service: composeName(stackName, input.service),
    swarmService: result.service,
    previousReplicas: result.previousReplicas,
    replicas: result.replicas,
  };
}

/** What the caller is told of a scale that did not succeed: the agent's codes mapped, never a broker message. */
function scaleError(err: unknown, service: string, timeoutMs: number): unknown {
  if (err instanceof AgentRejectedError && err.agentCode === "SERVICE_NOT_FOUND") {
    return new NotFoundError("SERVICE_NOT_FOUND", `the stack has no service "${service}"`);
  }
  if (err instanceof AgentRejectedError && err.agentCode === "STACK_BUSY") {
    return new ConflictError(
      ENVIRONMENT_BUSY,
      "a deployment of this environment's Swarm stack is still running on the agent: wait for it to end, then scale",
      { deploymentId: null, status: "RUNNING" },
    );
  }
  if (err instanceof AgentUnreachableError) {
    return new AgentUnreachableError(
      err.reason === "timed_out"
        ? `${err.message}: the service was not scaled (the command's deadline of ${Math.round(timeoutMs / 1000)} s has passed, and the agent refuses it after that)`
        : `${err.message}: the service was not scaled`,
      err.reason,
    );
  }
  return err;
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

/**
 * Live log follows of a service (the SSE route `…/logs/stream`): the agent commands behind them. The gateway
 * holds the stream and subscribes to the follow's subject itself; this module only resolves the environment in
 * the caller's org and sends FollowLogs / RenewLogs / StopLogs, so any deployments instance can serve any step.
 */
import { AgentRejectedError, sendAgentCommand } from "../_shared/agent-commands.js";
import { NotFoundError, TooManyRequestsError } from "../_shared/errors.js";
import type { TenantScope } from "../_shared/tenant.js";
import { agentSubjects } from "../../nats/protocol/subjects.js";
import { findEnvironment } from "../stacks/index.js";
import type { RuntimeDeps } from "./runtime.logic.js";

/** The agent ends a follow this long after its last renewal; the gateway renews every LOG_FOLLOW_RENEW_MS. */
export const LOG_FOLLOW_LEASE_SECONDS = 30;
export const LOG_FOLLOW_RENEW_MS = 10_000;

export type LogFollowStep = "target" | "start" | "renew" | "stop";

export interface LogFollowTarget {
  clusterId: string;
  /** The exact subject the agent publishes the follow's lines on. */
  subject: string;
}

/** Where a follow's lines will arrive, so the reader can subscribe before the agent starts (no line is missed). */
export async function logFollowTarget(
  scope: TenantScope,
  input: { environmentId: string; followId: string },
): Promise<LogFollowTarget> {
  const env = await findEnvironment(scope, input.environmentId);
  return { clusterId: env.cluster_id, subject: agentSubjects(env.cluster_id).logs(input.followId) };
}

export async function startLogFollow(
  deps: RuntimeDeps,
  scope: TenantScope,
  input: {
    environmentId: string;
    service: string;
    followId: string;
    tail: number;
    since: number | null;
    grep: string | null;
  },
): Promise<{ followId: string; service: string; subject: string }> {
  const env = await findEnvironment(scope, input.environmentId);
  try {
    return await sendAgentCommand(
      deps.nc,
      deps.commandSigningSeed,
      { orgId: scope.orgId, clusterId: env.cluster_id },
      "FollowLogs",
      {
        followId: input.followId,
        stackName: env.swarm_stack,
        service: input.service,
        tail: input.tail,
        since: input.since,
        grep: input.grep,
        leaseSeconds: LOG_FOLLOW_LEASE_SECONDS,
      },
      { timeoutMs: deps.statusTimeoutMs },
    );
  } catch (err) {
    if (err instanceof AgentRejectedError && err.agentCode === "SERVICE_NOT_FOUND") {
      throw new NotFoundError("SERVICE_NOT_FOUND", `the stack has no service "${input.service}"`);
    }
    if (err instanceof AgentRejectedError && err.agentCode === "TOO_MANY_LOG_FOLLOWS") {
      throw new TooManyRequestsError(
        "TOO_MANY_LOG_FOLLOWS",
        "the cluster's agent already follows as many logs as it allows at once: close another log view or try later",
        LOG_FOLLOW_LEASE_SECONDS,
      );
    }
    throw err;
  }
}

/** Extends the follow's lease; `active: false` when the agent no longer runs it (it is not restarted). */
export async function renewLogFollow(
  deps: RuntimeDeps,
  scope: TenantScope,
  input: { environmentId: string; followId: string },
): Promise<{ active: boolean }> {
  const env = await findEnvironment(scope, input.environmentId);
  const result = await sendAgentCommand(
    deps.nc,
    deps.commandSigningSeed,
    { orgId: scope.orgId, clusterId: env.cluster_id },
    "RenewLogs",
    { followId: input.followId, leaseSeconds: LOG_FOLLOW_LEASE_SECONDS },
    { timeoutMs: deps.statusTimeoutMs },
  );
  return { active: result.active };
}

export async function stopLogFollow(
  deps: RuntimeDeps,
  scope: TenantScope,
  input: { environmentId: string; followId: string },
): Promise<{ stopped: boolean }> {
  const env = await findEnvironment(scope, input.environmentId);
  const result = await sendAgentCommand(
    deps.nc,
    deps.commandSigningSeed,
    { orgId: scope.orgId, clusterId: env.cluster_id },
    "StopLogs",
    { followId: input.followId },
    { timeoutMs: deps.statusTimeoutMs },
  );
  return { stopped: result.stopped };
}

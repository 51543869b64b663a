/**
 * Day-2 operations on one service of an environment, through its agent: restart (every task replaced, same spec)
 * and rollback (the spec before the service's last update). Audited with the outcome in the transaction that holds
 * the environment's lock, like scale, so they never interleave with a deployment's dispatch.
 */
import { AgentRejectedError, AgentUnreachableError, sendAgentCommand } from "../_shared/agent-commands.js";
import { ConflictError, NotFoundError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import { findEnvironment } from "../stacks/index.js";
import type { ServiceAction } from "../../nats/protocol/commands/index.js";
import { assertEnvironmentIdle, ENVIRONMENT_BUSY } from "./busy.js";
import type { RuntimeDeps } from "./runtime.logic.js";

/**
 * The command expires well before the caller stops waiting: an agent that accepted it (the update itself takes
 * a second) has answered by then, and one that gets it later refuses it as expired, so a timeout means not done.
 */
export const SERVICE_ACTION_TTL_MS = 10_000;
export const SERVICE_ACTION_TIMEOUT_MS = 15_000;

const PAST: Record<ServiceAction, string> = { restart: "restarted", rollback: "rolled back" };

export async function runServiceAction(
  deps: RuntimeDeps,
  scope: TenantScope,
  principal: Principal,
  input: { environmentId: string; service: string; action: ServiceAction },
  request: RequestInfo,
) {
  const env = await findEnvironment(scope, input.environmentId);
  const stackName = env.swarm_stack;
  const outcome = await scope.transaction(async (tx) => {
    await tx.from("environments").where({ id: env.id }).forUpdate().first("id");
    await assertEnvironmentIdle(tx, env.id, input.action);
    const audit = (data: Record<string, unknown>) =>
      recordAudit(
        tx,
        {
          ...actorOf(principal),
          action: `service.${input.action}`,
          targetType: "environment",
          targetId: env.id,
          data: { service: input.service, ...data },
        },
        request,
      );
    try {
      const result = await sendAgentCommand(
        deps.nc,
        deps.commandSigningSeed,
        { orgId: scope.orgId, clusterId: env.cluster_id },
        "UpdateService",
        { stackName, service: input.service, action: input.action },
        { timeoutMs: SERVICE_ACTION_TIMEOUT_MS, ttlMs: SERVICE_ACTION_TTL_MS },
      );
      await audit({ outcome: "succeeded", image: result.image });
      return { ok: true as const, result };
    } catch (err) {
      const e = err as { type?: unknown; message?: unknown; agentCode?: unknown };
      const code = typeof e.agentCode === "string" ? e.agentCode : typeof e.type === "string" ? e.type : "ERROR";
      await audit({
        outcome: "failed",
        code,
        reason: typeof e.message === "string" ? e.message.slice(0, 300) : "unknown error",
      });
      return { ok: false as const, error: err };
    }
  });
  if (!outcome.ok) throw serviceActionError(outcome.error, input.service, input.action);
  const { result } = outcome;
  return {
    environmentId: env.id,
    service: input.service,
    swarmService: result.service,
    action: result.action,
    image: result.image,
    // A rollback (and a restart of a drifted service) leaves the live spec apart from the release: say so.
    note:
      input.action === "rollback"
        ? "the service now runs its previous Swarm spec, which may differ from the release: the environment shows drift until the next deploy restores the release"
        : "every task is being replaced with the same spec; follow them on the service page",
  };
}

/** The agent's refusals as the caller's codes, never a broker message. */
function serviceActionError(err: unknown, service: string, action: ServiceAction): unknown {
  if (err instanceof AgentRejectedError) {
    if (err.agentCode === "SERVICE_NOT_FOUND") {
      return new NotFoundError("SERVICE_NOT_FOUND", `the stack has no service "${service}"`);
    }
    if (err.agentCode === "SERVICE_NO_PREVIOUS_SPEC") {
      return new ConflictError("SERVICE_NO_PREVIOUS_SPEC", `${service} has no previous spec: it was never updated`);
    }
    if (err.agentCode === "STACK_BUSY") {
      return new ConflictError(
        ENVIRONMENT_BUSY,
        `a deployment of this environment's Swarm stack is still running on the agent: wait for it to end, then ${action}`,
        { deploymentId: null, status: "RUNNING" },
      );
    }
  }
  if (err instanceof AgentUnreachableError) {
    return new AgentUnreachableError(`${err.message}: the service was not ${PAST[action]}`, err.reason);
  }
  return err;
}

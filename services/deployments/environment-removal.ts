/**
 * Deleting an environment. Refused while one of its deployments is PENDING or RUNNING. By default its Swarm stack
 * is removed first through the agent (RemoveStack: only objects labelled as this environment's), and only then
 * is the environment forgotten; `keepRunning` forgets it and leaves the cluster as it is. The environment row,
 * its overlay, secrets, deployments and their events go in one transaction (foreign keys ON DELETE CASCADE);
 * the audit trail stays, with one `environment.delete` event naming what was removed from the cluster.
 */
import { sendAgentCommand, type SendCommandOptions } from "../_shared/agent-commands.js";
import type { ActorType, RequestInfo } from "../_shared/principal.js";
import type { TenantScope } from "../_shared/tenant.js";
import { recordAudit } from "../audit/index.js";
import type { RemoveStackResult, SwarmObjectNames } from "../../nats/protocol/commands/index.js";
import { findEnvironment } from "../stacks/index.js";
import type { RuntimeDeps } from "./runtime.logic.js";
import { assertEnvironmentIdle } from "./busy.js";

/** The agent may wait for containers to stop before networks and secrets can go. */
export const REMOVE_STACK_TIMEOUT_MS = 90_000;

export interface RemovalDeps extends Pick<RuntimeDeps, "nc" | "commandSigningSeed"> {
  removeTimeoutMs?: number;
}

const objectList = (names: SwarmObjectNames): string[] =>
  Object.entries(names).flatMap(([kind, list]) => (list as string[]).map((name) => `${kind.slice(0, -1)} ${name}`));

/** Who the `environment.delete` audit row names: a caller (`actorOf(principal)`) or a system path (previews). */
export interface RemovalActor {
  actorType: ActorType;
  actorId: string | null;
}

export async function deleteEnvironment(
  deps: RemovalDeps,
  scope: TenantScope,
  actor: RemovalActor,
  input: { environmentId: string; keepRunning: boolean },
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    // The row lock makes a deploy created meanwhile wait for this transaction (its foreign key needs the row).
    await tx.from("environments").where({ id: input.environmentId }).forUpdate().first("id");
    const env = await findEnvironment(tx, input.environmentId);
    await assertEnvironmentIdle(tx, env.id, "delete");
    let removal: RemoveStackResult | null = null;
    if (!input.keepRunning) {
      const timeoutMs = deps.removeTimeoutMs ?? REMOVE_STACK_TIMEOUT_MS;
      const opts: SendCommandOptions = { timeoutMs, ttlMs: timeoutMs };
      // AGENT_UNREACHABLE / AGENT_REJECTED propagate: nothing is forgotten that is still running.
      removal = await sendAgentCommand(
        deps.nc,
        deps.commandSigningSeed,
        { orgId: tx.orgId, clusterId: env.cluster_id },
        "RemoveStack",
        { stackName: env.swarm_stack, environmentId: env.id },
        opts,
      );
    }
    const deployments = (await tx.from("deployments").where({ environment_id: env.id }).count("* as n")) as Array<{
      n: string | number;
    }>;
    await tx.from("environments").where({ id: env.id }).delete();
    await recordAudit(
      tx,
      {
        ...actor,
        action: "environment.delete",
        targetType: "environment",
        targetId: env.id,
        data: {
          stackId: env.stack_id,
          name: env.name,
          clusterId: env.cluster_id,
          swarmStack: env.swarm_stack,
          keepRunning: input.keepRunning,
          deploymentsDeleted: Number(deployments[0]?.n ?? 0),
          // "kind name" strings: the audit redactor blanks any value under a key named like "secrets".
          removedObjects: removal ? objectList(removal.removed) : null,
          leftInPlaceObjects: removal ? objectList(removal.leftInPlace) : null,
        },
      },
      request,
    );
    return {
      id: env.id,
      name: env.name,
      swarmStack: env.swarm_stack,
      clusterId: env.cluster_id,
      keptRunning: input.keepRunning,
      removed: removal?.removed ?? null,
      leftInPlace: removal?.leftInPlace ?? null,
    };
  });
}

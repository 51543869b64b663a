/**
 * An operator's change to one Swarm node (availability, labels): sent to the cluster's agent as a signed
 * UpdateNode command and audited in the same transaction as its outcome, refused or not, so a node is never
 * changed without its audit row. The node row is rewritten from the agent's answer, so the nodes table is true
 * at once rather than at the next inventory.
 */
import type { NatsConnection } from "nats";
import { AgentRejectedError, sendAgentCommand } from "../_shared/agent-commands.js";
import { NotFoundError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import type { UpdateNodeResult } from "../../nats/protocol/commands/index.js";
import { findCluster } from "./clusters.logic.js";
import { nodeView, type ClusterNodeRow } from "./views.js";

/** How long the control plane waits for the agent's answer: a `docker node update` is quick, and this stays inside the gateway's 15 s request timeout. */
export const NODE_UPDATE_TIMEOUT_MS = 10_000;

export interface NodeActionDeps {
  nc: NatsConnection;
  commandSigningSeed: string;
  timeoutMs?: number;
}

export interface NodeChange {
  availability?: "active" | "pause" | "drain";
  labels?: Record<string, string>;
}

export async function updateClusterNode(
  deps: NodeActionDeps,
  scope: TenantScope,
  principal: Principal,
  input: { clusterId: string; nodeId: string; change: NodeChange },
  request: RequestInfo,
) {
  await findCluster(scope, input.clusterId);
  const timeoutMs = deps.timeoutMs ?? NODE_UPDATE_TIMEOUT_MS;
  const outcome = await scope.transaction(async (tx) => {
    const node = (await tx
      .from<ClusterNodeRow>("cluster_nodes")
      .where({ cluster_id: input.clusterId, id: input.nodeId })
      .forUpdate()
      .first()) as ClusterNodeRow | undefined;
    if (!node) throw new NotFoundError("NODE_NOT_FOUND", "no such node in this cluster");
    const audit = (data: Record<string, unknown>) =>
      recordAudit(
        tx,
        {
          ...actorOf(principal),
          action: "node.update",
          targetType: "cluster",
          targetId: input.clusterId,
          data: {
            node: node.hostname,
            swarmNodeId: node.node_id,
            ...(input.change.availability ? { availability: input.change.availability } : {}),
            ...(input.change.labels ? { labels: Object.keys(input.change.labels).sort() } : {}),
            ...data,
          },
        },
        request,
      );
    let result: UpdateNodeResult;
    try {
      result = await sendAgentCommand(
        deps.nc,
        deps.commandSigningSeed,
        { orgId: scope.orgId, clusterId: input.clusterId },
        "UpdateNode",
        {
          nodeId: node.node_id,
          availability: input.change.availability ?? null,
          labels: input.change.labels ?? null,
        },
        { timeoutMs, ttlMs: timeoutMs },
      );
    } catch (err) {
      const e = err as { type?: unknown; message?: unknown; agentCode?: unknown };
      await audit({
        outcome: "failed",
        code: typeof e.agentCode === "string" ? e.agentCode : typeof e.type === "string" ? e.type : "ERROR",
        reason: typeof e.message === "string" ? e.message.slice(0, 300) : "unknown error",
      });
      return { ok: false as const, error: err };
    }
    await audit({ outcome: "succeeded" });
    const [updated] = (await tx
      .from<ClusterNodeRow>("cluster_nodes")
      .where({ id: node.id })
      .update({
        availability: result.availability,
        status: result.status,
        labels_json: JSON.stringify(result.labels) as unknown as Record<string, string>,
        updated_at: tx.db.fn.now() as unknown as Date,
      })
      .returning("*")) as ClusterNodeRow[];
    return { ok: true as const, node: updated ?? node };
  });
  if (!outcome.ok) {
    if (outcome.error instanceof AgentRejectedError && outcome.error.agentCode === "NODE_NOT_FOUND") {
      throw new NotFoundError("NODE_NOT_FOUND", "the node is no longer part of the Swarm");
    }
    throw outcome.error;
  }
  return nodeView(outcome.node);
}

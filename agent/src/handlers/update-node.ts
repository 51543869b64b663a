/**
 * UpdateNode: an operator's change to one Swarm node (availability, labels), carried out on the manager the
 * agent talks to. Answers with the node as Swarm reports it afterwards (the control plane stores it at once; the
 * daemon's node event also triggers a fresh inventory).
 */
import type { UpdateNodeResult } from "../../../nats/protocol/commands/index.js";
import type { CommandHandler } from "../commands.js";
import { DockerEngineError } from "../docker/dockerode-engine.js";
import type { SwarmNodeUpdater } from "../docker/engine.js";
import { toInventoryNode } from "../inventory.js";
import { HandlerError } from "./errors.js";

export function createUpdateNodeHandler(nodes: SwarmNodeUpdater): CommandHandler<"UpdateNode"> {
  return async (payload, ctx): Promise<UpdateNodeResult> => {
    if (payload.availability === null && payload.labels === null) {
      throw new HandlerError("NODE_UPDATE_FAILED", "nothing to change: give an availability, labels or both");
    }
    try {
      const node = await nodes.updateNode(payload.nodeId, {
        availability: payload.availability,
        labels: payload.labels,
      });
      ctx.log.info("node updated", {
        nodeId: node.id,
        hostname: node.hostname,
        availability: node.availability,
        labels: Object.keys(node.labels).length,
      });
      return toInventoryNode(node);
    } catch (err) {
      if (err instanceof DockerEngineError && err.code === "DOCKER_NOT_FOUND") {
        throw new HandlerError("NODE_NOT_FOUND", `no Swarm node ${payload.nodeId} on this cluster`, { cause: err });
      }
      if (err instanceof DockerEngineError && err.code !== "DOCKER_UNAVAILABLE") {
        throw new HandlerError("NODE_UPDATE_FAILED", `node ${payload.nodeId} was not updated: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
  };
}

/**
 * UpdateService: restart one service of a stack (every task replaced, same spec) or roll it back to the spec it
 * had before its last update. Refused while a deployment of the stack runs here (it would race the rolling
 * update) and for a service the stack does not have. Answers once Swarm accepted the update.
 */
import type { UpdateServiceResult } from "../../../nats/protocol/commands/index.js";
import type { CommandHandler } from "../commands.js";
import { findStackService } from "../deploy/scale.js";
import type { DeployEngine } from "../deploy/types.js";
import { DockerEngineError } from "../docker/dockerode-engine.js";
import type { SwarmServiceUpdater } from "../docker/engine.js";
import { AgentStoppingError, HandlerError, StackBusyError } from "./errors.js";

export interface UpdateServiceHandlerOptions {
  /** The deployment running on a stack here, if any. */
  runningDeployment?: (stackName: string) => string | undefined;
}

export function createUpdateServiceHandler(
  engine: DeployEngine,
  updater: SwarmServiceUpdater,
  opts: UpdateServiceHandlerOptions = {},
): CommandHandler<"UpdateService"> {
  return async (payload, ctx): Promise<UpdateServiceResult> => {
    if (ctx.signal.aborted) throw new AgentStoppingError(`the service was not ${payload.action}ed`);
    const running = opts.runningDeployment?.(payload.stackName);
    if (running) throw new StackBusyError(payload.stackName, running);
    // Throws SERVICE_NOT_FOUND before anything changes.
    const service = await findStackService(engine, payload.stackName, payload.service);
    try {
      const { image } = await updater.updateService(service.id, payload.action);
      ctx.log.info("service updated", { service: service.name, action: payload.action });
      return { service: service.name, action: payload.action, image };
    } catch (err) {
      if (payload.action === "rollback" && err instanceof DockerEngineError && err.code === "DOCKER_CONFLICT") {
        throw new HandlerError("SERVICE_NO_PREVIOUS_SPEC", err.message, { cause: err });
      }
      if (err instanceof DockerEngineError && err.code !== "DOCKER_UNAVAILABLE") {
        throw new HandlerError(
          "SERVICE_UPDATE_FAILED",
          `${service.name} was not ${payload.action === "restart" ? "restarted" : "rolled back"}: ${err.message}`,
          { cause: err },
        );
      }
      throw err;
    }
  };
}

/** Refusals and failures of the command handlers, with the stable codes the control plane matches on. */
import type { SealErrorCode } from "../../../nats/protocol/sealing.js";

export type HandlerErrorCode =
  | "STACK_BUSY"
  | "AGENT_STOPPING"
  | "SCALE_FAILED"
  | "SCALE_TIMED_OUT"
  | "SEAL_KEY_MISSING"
  | "REGISTRY_AUTH_INVALID"
  | SealErrorCode;

export class HandlerError extends Error {
  constructor(
    readonly code: HandlerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Another deployment of the same stack is still running here: two `docker stack deploy` must never interleave. */
export class StackBusyError extends HandlerError {
  constructor(stackName: string, runningDeploymentId: string) {
    super("STACK_BUSY", `deployment ${runningDeploymentId} of stack ${stackName} is still running on this agent`);
  }
}

export class AgentStoppingError extends HandlerError {
  constructor(what: string) {
    super("AGENT_STOPPING", `the agent is stopping: ${what}`);
  }
}

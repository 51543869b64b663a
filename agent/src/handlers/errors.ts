/** Refusals and failures of the command handlers, with the stable codes the control plane matches on. */
import type { SealErrorCode } from "../../../nats/protocol/sealing.js";
import { CodedError } from "../errors.js";

export type HandlerErrorCode =
  | "STACK_BUSY"
  | "AGENT_STOPPING"
  | "SCALE_FAILED"
  | "SCALE_TIMED_OUT"
  | "DEADLINE_PASSED"
  | "ROLLBACK_TARGET_MISMATCH"
  | "SEAL_KEY_MISSING"
  | "REGISTRY_AUTH_INVALID"
  | "REMOVE_STACK_INCOMPLETE"
  | "NODE_NOT_FOUND"
  | "NODE_UPDATE_FAILED"
  | "SERVICE_NO_PREVIOUS_SPEC"
  | "SERVICE_UPDATE_FAILED"
  | "TOO_MANY_LOG_FOLLOWS"
  | "LOG_FOLLOW_EXISTS"
  | "TASK_NOT_FOUND"
  | "TASK_NOT_RUNNING"
  | "TOO_MANY_EXEC_SESSIONS"
  | "EXEC_SESSION_EXISTS"
  | "EXEC_FAILED"
  | "GIT_AUTH_INVALID"
  | "INGRESS_APPLY_FAILED"
  | "INGRESS_ROLLOUT_FAILED"
  | "INGRESS_ROLLOUT_TIMED_OUT"
  | "INGRESS_NOT_OWNED"
  | SealErrorCode;

export class HandlerError extends CodedError<HandlerErrorCode> {}

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

/**
 * A RollbackStack whose ownership labels name another release than its target: deploying it would label the
 * services with a release the control plane did not mean, so it is refused before anything runs.
 */
export class RollbackTargetMismatchError extends HandlerError {
  constructor(targetReleaseId: string, labelledReleaseId: string | undefined) {
    super(
      "ROLLBACK_TARGET_MISMATCH",
      `the rollback targets release ${targetReleaseId} but its labels name release ${labelledReleaseId ?? "(none)"}`,
    );
  }
}

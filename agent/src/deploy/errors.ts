/** Errors of the deploy/scale/logs operations, with stable codes the command handlers map to protocol replies. */
import { CodedError } from "../errors.js";

export type DeployErrorCode =
  | "SERVICE_NOT_FOUND"
  | "SERVICE_NOT_SCALABLE"
  | "INVALID_REQUEST"
  | "SWARM_STACK_NOT_OWNED"
  | "IMAGE_PREFLIGHT_FAILED"
  | "HOOK_FAILED";

export class DeployError extends CodedError<DeployErrorCode> {}

export class ServiceNotFoundError extends DeployError {
  constructor(stackName: string, service: string) {
    super("SERVICE_NOT_FOUND", `service ${service} not found in stack ${stackName}`);
  }
}

export class ServiceNotScalableError extends DeployError {
  constructor(service: string) {
    super("SERVICE_NOT_SCALABLE", `service ${service} runs in global mode (one task per node) and cannot be scaled`);
  }
}

export class InvalidRequestError extends DeployError {
  constructor(message: string) {
    super("INVALID_REQUEST", message);
  }
}

/**
 * The Swarm stack has services that are not labelled as the deploying environment's (made by hand, by another
 * tool, or by another environment): deploying would take them over. Only a deployment with `adopt` may.
 */
export class SwarmStackNotOwnedError extends DeployError {
  constructor(
    readonly stackName: string,
    readonly services: string[],
  ) {
    super(
      "SWARM_STACK_NOT_OWNED",
      `the Swarm stack ${stackName} already has services that are not this environment's (${services.join(", ")}); deploy with adopt to take it over`,
    );
  }
}

/** A release hook's job did not complete with exit code 0 (non-zero exit, rejected task, or its timeout). */
export class HookFailedError extends DeployError {
  constructor(message: string) {
    super("HOOK_FAILED", message);
  }
}

/** Errors of the agent program, each with a stable code; main.ts prints the message and exits non-zero. */

export const AGENT_ERROR_CODES = [
  "CONFIG_INVALID",
  "STATE_MISSING",
  "STATE_INVALID",
  "STATE_INSECURE",
  "ALREADY_REGISTERED",
  "REGISTRATION_REJECTED",
  "REGISTRATION_FAILED",
  "CONTROL_PLANE_UNREACHABLE",
  "DOCKER_UNAVAILABLE",
  "NOT_IN_SWARM",
  "NOT_SWARM_MANAGER",
  "CREDENTIALS_REJECTED",
  "LINK_CLOSED",
  "RENEWAL_FAILED",
  "NATS_URL_INSECURE",
  "NATS_TLS_FAILED",
  "LEAF_FAILED",
] as const;
export type AgentErrorCode = (typeof AGENT_ERROR_CODES)[number];

/**
 * The one base of the agent's errors: a stable code beside a message, named after the concrete class. The command
 * service turns any of them into a coded reply (commands.ts), so a handler only has to throw.
 */
export abstract class CodedError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class AgentError extends CodedError<AgentErrorCode> {}

export class AgentConfigError extends AgentError {
  constructor(readonly problems: string[]) {
    super("CONFIG_INVALID", `invalid agent configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

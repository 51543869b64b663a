/**
 * Errors of the agent protocol. Plain classes (no Moleculer dependency: the agent ships without it) with a
 * stable `code` that both sides match on, and a `reason` that is safe to send over the wire.
 */

export const PROTOCOL_ERROR_CODES = [
  "MALFORMED_MESSAGE",
  "INVALID_SUBJECT_TOKEN",
  "INVALID_KEY",
  /** A deploy command carrying a secret value in the clear (the pre-sealing shape): never accepted or sent. */
  "PLAINTEXT_SECRET_REFUSED",
] as const;
export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

export class ProtocolError extends Error {
  override name = "ProtocolError";
  constructor(
    readonly code: ProtocolErrorCode,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${reason}`, options);
  }
}

/** Why an agent refuses a command before running it. */
export const COMMAND_REJECTION_CODES = [
  "BAD_SIGNATURE",
  "WRONG_CLUSTER",
  "EXPIRED",
  "REPLAYED",
  "MALFORMED_MESSAGE",
  /** The replay guard is full of unexpired ids: refusing is the only way to keep replay protection. */
  "REPLAY_GUARD_FULL",
] as const;
export type CommandRejectionCode = (typeof COMMAND_REJECTION_CODES)[number];

export class CommandRejectedError extends Error {
  override name = "CommandRejectedError";
  constructor(
    readonly code: CommandRejectionCode,
    readonly reason: string,
    /** The command id when the envelope was readable enough to have one. */
    readonly commandId: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${reason}`, options);
  }
}

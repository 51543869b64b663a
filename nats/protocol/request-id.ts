/**
 * The request id that follows one API request through every process it reaches: the gateway (X-Request-Id),
 * Moleculer calls (ctx.requestID), deploy jobs, and agent commands — where it travels as a NATS message header,
 * outside the signed envelope, because it only correlates log lines and an agent that predates it must still
 * accept the command. Nothing is decided on it; a malformed one is ignored (and replaced at the gateway).
 */
export const REQUEST_ID_HEADER = "Stackyard-Request-Id";
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The value when it is a well-formed request id, else undefined. */
export function validRequestId(value: unknown): string | undefined {
  return typeof value === "string" && REQUEST_ID.test(value) ? value : undefined;
}

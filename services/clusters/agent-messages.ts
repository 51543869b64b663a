/**
 * Decoding what an agent publishes on its core subjects: size first (before parsing), then the protocol schema,
 * then the message's own cluster against the subject's. A message that fails is dropped by the caller with a
 * structured log built from the error here, which never carries the payload.
 */
import { decodeMessage, type MessageType, type MessageTypes } from "../../nats/protocol/messages.js";
import { ProtocolError } from "../../nats/protocol/errors.js";

export class AgentMessageDroppedError extends Error {
  override name = "AgentMessageDroppedError";
  constructor(
    readonly code: "MESSAGE_TOO_LARGE" | "MALFORMED_MESSAGE" | "WRONG_CLUSTER",
    message: string,
    readonly bytes: number,
  ) {
    super(message);
  }
}

export function decodeAgentMessage<K extends MessageType>(
  type: K,
  clusterId: string,
  data: Uint8Array,
  maxBytes: number,
): MessageTypes[K] & { clusterId: string } {
  if (data.byteLength > maxBytes) {
    throw new AgentMessageDroppedError(
      "MESSAGE_TOO_LARGE",
      `${type}: ${data.byteLength} bytes, over the limit of ${maxBytes}`,
      data.byteLength,
    );
  }
  let message: MessageTypes[K];
  try {
    message = decodeMessage(type, data);
  } catch (err) {
    // The protocol's errors name paths and rules only, never values.
    const reason = err instanceof ProtocolError ? err.message : `${type}: undecodable`;
    throw new AgentMessageDroppedError("MALFORMED_MESSAGE", reason, data.byteLength);
  }
  const claimed = (message as { clusterId?: unknown }).clusterId;
  if (claimed !== clusterId) {
    throw new AgentMessageDroppedError(
      "WRONG_CLUSTER",
      `${type}: names another cluster than its subject`,
      data.byteLength,
    );
  }
  return message as MessageTypes[K] & { clusterId: string };
}

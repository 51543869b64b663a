/**
 * Sending signed commands to a cluster's agent over NATS (request/reply) and turning the answer into a typed
 * result or a typed error the REST layer can map.
 */
import { ErrorCode, headers, type NatsConnection, type NatsError } from "nats";
import { signCommand } from "../../nats/protocol/envelope.js";
import {
  decodeCommandReply,
  validateCommandResult,
  type CommandPayloads,
  type CommandResults,
} from "../../nats/protocol/messages.js";
import { commandRequestOptions, commandSubject, type CommandType } from "../../nats/protocol/subjects.js";
import { REQUEST_ID_HEADER } from "../../nats/protocol/request-id.js";
import { AppError } from "./errors.js";
import { currentRequestId } from "./request-context.js";

export class AgentUnreachableError extends AppError {
  constructor(
    message: string,
    /** No agent subscribed (it is not connected), or it did not answer in time. */
    readonly reason: "not_connected" | "timed_out" = "not_connected",
  ) {
    super(503, "AGENT_UNREACHABLE", message);
  }
}

export class AgentRejectedError extends AppError {
  constructor(
    readonly agentCode: string,
    reason: string,
  ) {
    super(502, "AGENT_REJECTED", `the agent refused: ${reason}`, { agentCode });
  }
}

export interface AgentCommandTarget {
  orgId: string;
  clusterId: string;
}

export interface SendCommandOptions {
  timeoutMs: number;
  /** How long the signed command stays valid (defaults to the protocol's). */
  ttlMs?: number;
}

export async function sendAgentCommand<T extends CommandType>(
  nc: NatsConnection,
  signingSeed: string,
  target: AgentCommandTarget,
  type: T,
  payload: CommandPayloads[T],
  opts: SendCommandOptions,
): Promise<CommandResults[T]> {
  const envelope = signCommand(signingSeed, {
    type,
    orgId: target.orgId,
    clusterId: target.clusterId,
    payload,
    ...(opts.ttlMs ? { ttlMs: opts.ttlMs } : {}),
  });
  let data: Uint8Array;
  try {
    // Replies come back on agent.<cluster>.reply.<commandId>: the only reply path that also works through leaf nodes.
    const requestId = currentRequestId();
    const hdrs = requestId ? headers() : undefined;
    hdrs?.set(REQUEST_ID_HEADER, requestId!);
    const reply = await nc.request(
      commandSubject(target.clusterId, type),
      new TextEncoder().encode(JSON.stringify(envelope)),
      {
        ...commandRequestOptions(target.clusterId, envelope.id, opts.timeoutMs),
        ...(hdrs ? { headers: hdrs } : {}),
      },
    );
    data = reply.data;
  } catch (err) {
    const code = (err as NatsError).code;
    if (code === ErrorCode.NoResponders) throw new AgentUnreachableError("the cluster's agent is not connected");
    if (code === ErrorCode.Timeout)
      throw new AgentUnreachableError(`the cluster's agent did not answer within ${opts.timeoutMs} ms`, "timed_out");
    throw err;
  }
  return readAgentReply(type, data);
}

/** The control plane's reading of an agent's reply: the typed result, or AgentRejectedError with the agent's code. */
export function readAgentReply<T extends CommandType>(type: T, data: Uint8Array): CommandResults[T] {
  const answer = decodeCommandReply(data);
  if (!answer.ok) throw new AgentRejectedError(answer.code, answer.reason);
  return validateCommandResult(type, answer.result);
}

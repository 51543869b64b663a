/**
 * Serving control-plane commands on `cmd.<clusterId>.>`: every message is verified (signature, cluster, expiry,
 * replay), its payload validated, then dispatched to the handler registered for its type. The requester always
 * gets a CommandResult or CommandRejected; refusals before execution are also reported on
 * `agent.<clusterId>.rejected`, since they may be an attack.
 */
import type { Msg, NatsConnection, Subscription } from "nats";
import { ReplayGuard, verifyCommand } from "../../nats/protocol/envelope.js";
import { CommandRejectedError, ProtocolError } from "../../nats/protocol/errors.js";
import {
  encodeCommandReply,
  encodeMessage,
  errorReply,
  STABLE_CODE,
  validateCommandPayload,
  validateCommandResult,
  type CommandEnvelope,
  type CommandPayloads,
  type CommandRejected,
  type CommandRejectionReport,
  type CommandReply,
  type CommandResults,
} from "../../nats/protocol/messages.js";
import { agentSubjects, commandWildcard, type CommandType } from "../../nats/protocol/subjects.js";
import { REQUEST_ID_HEADER, validRequestId } from "../../nats/protocol/request-id.js";
import { CodedError } from "./errors.js";
import type { Logger } from "./logger.js";

export interface CommandContext {
  command: CommandEnvelope;
  log: Logger;
  /** Aborted when the agent shuts down. */
  signal: AbortSignal;
}

export type CommandHandler<T extends CommandType> = (
  payload: CommandPayloads[T],
  ctx: CommandContext,
) => Promise<CommandResults[T]>;

/** Handlers by command type; a type without one is answered with NOT_SUPPORTED. */
export type CommandHandlers = { [T in CommandType]?: CommandHandler<T> };

/** Codes of replies the agent itself produces, beyond the envelope rejections and the handlers' own codes. */
export const AGENT_REPLY_CODES = {
  notSupported: "NOT_SUPPORTED",
  handlerFailed: "HANDLER_FAILED",
  busy: "AGENT_BUSY",
} as const;

export interface CommandProcessorOptions {
  clusterId: string;
  commandSigningPublicKey: string;
  replayGuard: ReplayGuard;
  handlers: CommandHandlers;
  now: () => number;
  log: Logger;
  signal: AbortSignal;
}

export interface ProcessedCommand {
  reply: CommandReply;
  /** Set when the command was refused before running. */
  report: CommandRejectionReport | null;
}

const decoder = new TextDecoder();

function rejected(code: string, reason: string, commandId: string | null, type: string | null): CommandRejected {
  return { ...errorReply(code, reason), commandId, type };
}

export async function processCommand(
  subject: string,
  data: Uint8Array,
  opts: CommandProcessorOptions,
  requestId?: string,
): Promise<ProcessedCommand> {
  const refuse = (code: string, reason: string, commandId: string | null, type: string | null): ProcessedCommand => {
    const reply = rejected(code, reason, commandId, type);
    const report: CommandRejectionReport = {
      clusterId: opts.clusterId,
      ts: opts.now(),
      subject: subject.slice(0, 512),
      commandId: reply.commandId,
      type: reply.type,
      code,
      reason: reply.reason,
    };
    opts.log.warn("command refused", { subject, commandId, type, code, reason });
    return { reply, report };
  };

  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(data));
  } catch {
    return refuse("MALFORMED_MESSAGE", "the command is not valid JSON", null, null);
  }
  let command: CommandEnvelope;
  try {
    command = verifyCommand(raw, {
      publicKey: opts.commandSigningPublicKey,
      clusterId: opts.clusterId,
      now: opts.now(),
      replayGuard: opts.replayGuard,
    });
  } catch (err) {
    if (err instanceof CommandRejectedError) {
      const type = (raw as { type?: unknown } | null)?.type;
      return refuse(err.code, err.reason, err.commandId, typeof type === "string" ? type.slice(0, 64) : null);
    }
    throw err;
  }
  const subjectType = subject.split(".").at(-1);
  if (subjectType !== command.type) {
    return refuse(
      "MALFORMED_MESSAGE",
      `sent on ${subject} but the envelope says ${command.type}`,
      command.id,
      command.type,
    );
  }
  const handler = opts.handlers[command.type] as CommandHandler<CommandType> | undefined;
  if (!handler) {
    return refuse(
      AGENT_REPLY_CODES.notSupported,
      `this agent does not handle ${command.type}`,
      command.id,
      command.type,
    );
  }
  let payload: CommandPayloads[CommandType];
  try {
    payload = validateCommandPayload(command.type, command.payload);
  } catch (err) {
    if (err instanceof ProtocolError) return refuse(err.code, err.reason, command.id, command.type);
    throw err;
  }

  // The request id (a header, outside the signed envelope) only ties these lines to the API request that caused them.
  const log = opts.log.child({ commandId: command.id, type: command.type, ...(requestId ? { requestId } : {}) });
  log.info("command accepted");
  try {
    const result = await handler(payload, { command, log, signal: opts.signal });
    validateCommandResult(command.type, result);
    return {
      reply: { ok: true, commandId: command.id, type: command.type, result: { ...result } },
      report: null,
    };
  } catch (err) {
    // Every agent error derives from CodedError; the code check keeps a malformed code off the wire all the same.
    if (err instanceof CodedError && STABLE_CODE.test(err.code)) {
      log.warn("command failed", { err });
      return { reply: rejected(err.code, err.message, command.id, command.type), report: null };
    }
    // An untyped error may carry anything (paths, daemon output): keep it in the local log only.
    log.error("command handler crashed", { err });
    return {
      reply: rejected(
        AGENT_REPLY_CODES.handlerFailed,
        "the agent failed to run the command; see its log",
        command.id,
        command.type,
      ),
      report: null,
    };
  }
}

export const MAX_COMMANDS_IN_FLIGHT = 32;

export interface CommandServer {
  subscription: Subscription;
  /** Resolves when every command being processed has replied. */
  idle(): Promise<void>;
}

export function serveCommands(nc: NatsConnection, opts: CommandProcessorOptions): CommandServer {
  const subjects = agentSubjects(opts.clusterId);
  const inFlight = new Set<Promise<void>>();

  const handle = async (msg: Msg): Promise<void> => {
    let processed: ProcessedCommand;
    if (inFlight.size > MAX_COMMANDS_IN_FLIGHT) {
      processed = {
        reply: rejected(AGENT_REPLY_CODES.busy, `more than ${MAX_COMMANDS_IN_FLIGHT} commands in flight`, null, null),
        report: null,
      };
    } else {
      processed = await processCommand(
        msg.subject,
        msg.data,
        opts,
        validRequestId(msg.headers?.get(REQUEST_ID_HEADER)),
      );
    }
    if (msg.reply) msg.respond(encodeCommandReply(processed.reply));
    else opts.log.warn("command without a reply subject; the result is dropped", { subject: msg.subject });
    if (processed.report) nc.publish(subjects.rejected, encodeMessage("CommandRejectionReport", processed.report));
  };

  const subscription = nc.subscribe(commandWildcard(opts.clusterId), {
    callback: (err, msg) => {
      if (err) {
        opts.log.error("command subscription failed", { err });
        return;
      }
      const task = handle(msg)
        .catch((e: unknown) => opts.log.error("command processing failed", { err: e }))
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    },
  });
  return {
    subscription,
    idle: async () => {
      await Promise.allSettled([...inFlight]);
    },
  };
}

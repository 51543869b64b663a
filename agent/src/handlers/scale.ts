/**
 * ScaleService: sets the replica count and answers once the new count runs. The wait is bounded by the command's
 * own lifetime (the control plane stops waiting when it expires) and by MAX_SCALE_WAIT_SECONDS.
 */
import type { CommandHandler } from "../commands.js";
import { findStackService, scaleService, type ScaleOptions } from "../deploy/scale.js";
import type { DeployEngine } from "../deploy/types.js";
import { AgentStoppingError, HandlerError, StackBusyError } from "./errors.js";

export const MAX_SCALE_WAIT_SECONDS = 110;
/** Left between the end of the wait and the command's expiry, for the reply to travel. */
export const SCALE_REPLY_MARGIN_MS = 5_000;
const MIN_SCALE_WAIT_SECONDS = 1;

export interface ScaleHandlerOptions extends Pick<ScaleOptions, "pollIntervalMs" | "stabilizationMs"> {
  now?: () => number;
  maxWaitSeconds?: number;
  /** The deployment running on a stack here, if any: a scale beside it would race its rolling update. */
  runningDeployment?: (stackName: string) => string | undefined;
}

export function createScaleHandler(
  engine: DeployEngine,
  opts: ScaleHandlerOptions = {},
): CommandHandler<"ScaleService"> {
  const now = opts.now ?? Date.now;
  const maxWait = opts.maxWaitSeconds ?? MAX_SCALE_WAIT_SECONDS;
  return async (payload, ctx) => {
    if (ctx.signal.aborted) throw new AgentStoppingError("the service was not scaled");
    const running = opts.runningDeployment?.(payload.stackName);
    if (running) throw new StackBusyError(payload.stackName, running);
    // Throws SERVICE_NOT_FOUND before anything changes.
    const before = await findStackService(engine, payload.stackName, payload.service);
    // The command's expiry is its deadline: the sender stops waiting then and reports the scale as not done, so
    // it is not started when too little of it is left to answer in time.
    const untilExpiry = Math.floor((ctx.command.expiresAt - now() - SCALE_REPLY_MARGIN_MS) / 1000);
    if (untilExpiry < MIN_SCALE_WAIT_SECONDS) {
      throw new HandlerError(
        "DEADLINE_PASSED",
        `the scale command's deadline has passed (${new Date(ctx.command.expiresAt).toISOString()}): the service was not scaled`,
      );
    }
    const timeoutSeconds = Math.max(MIN_SCALE_WAIT_SECONDS, Math.min(maxWait, untilExpiry));
    const result = await scaleService(
      engine,
      { stackName: payload.stackName, service: payload.service, replicas: payload.replicas, timeoutSeconds },
      ctx.signal,
      {
        now,
        emit: (event) => ctx.log.debug(event.message, event.data),
        ...(opts.pollIntervalMs !== undefined ? { pollIntervalMs: opts.pollIntervalMs } : {}),
        ...(opts.stabilizationMs !== undefined ? { stabilizationMs: opts.stabilizationMs } : {}),
      },
    );
    const error = result.error ?? "no reason given";
    if (result.status === "CANCELED") {
      throw new AgentStoppingError(`stopped waiting for ${result.service.name}; the new replica count stays set`);
    }
    if (result.status === "FAILED") {
      const timedOut = /^timed out after/.test(error);
      throw new HandlerError(
        timedOut ? "SCALE_TIMED_OUT" : "SCALE_FAILED",
        `${result.service.name} was set to ${payload.replicas} replicas but did not converge: ${error}`,
      );
    }
    return { service: result.service.name, previousReplicas: before.desiredReplicas, replicas: payload.replicas };
  };
}

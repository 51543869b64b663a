/**
 * Moleculer's own errors (a call that timed out, a service with no live node, a full queue) carry the broker's
 * wording ("…when call 'deployments.scale' action on 'node-1' node") and node names in their data: internals a
 * client must never see. They become stable codes with a user-level message here; everything else passes.
 */
import { Errors } from "moleculer";
import { AppError } from "../_shared/errors.js";

export class GatewayTimeoutError extends AppError {
  constructor() {
    super(
      504,
      "REQUEST_TIMEOUT",
      "the control plane did not finish the request in time; it may still complete: check the state before retrying",
    );
  }
}

export class ControlPlaneUnavailableError extends AppError {
  constructor() {
    super(503, "SERVICE_UNAVAILABLE", "a part of the control plane is not available right now; try again shortly");
  }
}

const UNAVAILABLE = [
  Errors.ServiceNotFoundError,
  Errors.ServiceNotAvailableError,
  Errors.BrokerDisconnectedError,
  Errors.RequestRejectedError,
  Errors.QueueIsFullError,
];
const TIMED_OUT = [Errors.RequestTimeoutError, Errors.RequestSkippedError];

const named = (err: unknown, classes: ReadonlyArray<{ name: string }>): boolean => {
  const name = (err as { name?: unknown } | null)?.name;
  return typeof name === "string" && classes.some((c) => c.name === name);
};

/** The public form of a broker error, or null when `err` is not one of the broker's own. */
export function publicBrokerError(err: unknown): AppError | null {
  if (err instanceof AppError) return null;
  if (TIMED_OUT.some((c) => err instanceof c) || named(err, TIMED_OUT)) return new GatewayTimeoutError();
  if (UNAVAILABLE.some((c) => err instanceof c) || named(err, UNAVAILABLE)) return new ControlPlaneUnavailableError();
  return null;
}

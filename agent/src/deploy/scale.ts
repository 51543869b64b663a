/**
 * ScaleService: sets a replicated service's replica count and waits until the new count runs (same convergence
 * rules as a deployment, restricted to that service).
 */
import {
  DEFAULT_FAILED_TASK_THRESHOLD,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_STABILIZATION_MS,
  takeBaseline,
  waitForConvergence,
} from "./convergence.js";
import { InvalidRequestError, ServiceNotFoundError, ServiceNotScalableError } from "./errors.js";
import type { SwarmService } from "../docker/engine.js";
import type { DeployEngine, DeployStatus, Emit, ServiceHealth } from "./types.js";

/** Upper bound on one service's replicas: a typo (30000 for 3) must not schedule a swarm to death. */
export const MAX_REPLICAS = 1_000;

export interface ScaleRequest {
  stackName: string;
  /** The compose service name (`web`) or the full Swarm name (`<stack>_web`). */
  service: string;
  replicas: number;
  timeoutSeconds: number;
}

export interface ScaleResult {
  status: DeployStatus;
  error?: string;
  service: ServiceHealth;
}

export interface ScaleOptions {
  emit?: Emit;
  now?: () => number;
  pollIntervalMs?: number;
  stabilizationMs?: number;
  failedTaskThreshold?: number;
}

/**
 * Throws ServiceNotFoundError / ServiceNotScalableError / InvalidRequestError before changing anything; once the
 * service was updated, the outcome (including timeout and cancel) is reported in the result.
 */
export async function scaleService(
  engine: DeployEngine,
  req: ScaleRequest,
  signal: AbortSignal,
  opts: ScaleOptions = {},
): Promise<ScaleResult> {
  if (!Number.isInteger(req.replicas) || req.replicas < 0 || req.replicas > MAX_REPLICAS) {
    throw new InvalidRequestError(`replicas must be an integer between 0 and ${MAX_REPLICAS}`);
  }
  const emit = opts.emit ?? (() => undefined);
  const service = await findStackService(engine, req.stackName, req.service);
  if (service.mode !== "replicated") throw new ServiceNotScalableError(service.name);

  const baseline = takeBaseline(await engine.inspectStack(req.stackName));
  await engine.scaleService(service.id, req.replicas);
  emit({
    level: "info",
    message: `scaling ${service.name} from ${service.desiredReplicas} to ${req.replicas} replicas`,
    data: { service: service.name, from: service.desiredReplicas, to: req.replicas },
  });

  const run = new AbortController();
  let timedOut = false;
  const onCancel = () => run.abort();
  if (signal.aborted) run.abort();
  else signal.addEventListener("abort", onCancel, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    run.abort();
  }, req.timeoutSeconds * 1000);

  let health: ServiceHealth = {
    name: service.name,
    desired: req.replicas,
    running: service.runningReplicas,
    image: service.image,
    healthy: false,
  };
  try {
    const result = await waitForConvergence(engine, {
      stack: req.stackName,
      baseline,
      serviceIds: new Set([service.id]),
      emit,
      signal: run.signal,
      now: opts.now,
      pollIntervalMs: opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      stabilizationMs: opts.stabilizationMs ?? DEFAULT_STABILIZATION_MS,
      failedTaskThreshold: opts.failedTaskThreshold ?? DEFAULT_FAILED_TASK_THRESHOLD,
      onAssessment: (a) => {
        health = a.services[0]?.health ?? health;
      },
    });
    if (result.outcome === "converged") return { status: "SUCCEEDED", service: health };
    if (result.outcome === "failed") return { status: "FAILED", error: result.error, service: health };
    if (timedOut) {
      return {
        status: "FAILED",
        error: `timed out after ${req.timeoutSeconds}s with ${health.running}/${req.replicas} replicas running`,
        service: health,
      };
    }
    return { status: "CANCELED", error: "canceled: the new replica count stays set", service: health };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onCancel);
  }
}

/** Finds a service of the stack by its compose name or its full Swarm name. */
export async function findStackService(engine: DeployEngine, stackName: string, name: string): Promise<SwarmService> {
  const services = await engine.listServices({ stack: stackName });
  const found = services.find((s) => s.name === `${stackName}_${name}`) ?? services.find((s) => s.name === name);
  if (!found) throw new ServiceNotFoundError(stackName, name);
  return found;
}

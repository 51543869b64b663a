/**
 * How long a converged service must stay converged before it counts as ready, and why: the per-service part of
 * the convergence wait. Pure functions; waitForConvergence applies them to every poll.
 *
 * - A healthcheck (in the spec, or in the image's config and not turned off) vouches for the tasks: Swarm calls
 *   such a task running only once it is healthy. Ready at once, or after the release's declared health grace.
 * - Without one, the declared grace is how long the tasks must stay up; without a declared grace, a service whose
 *   Swarm rolling update completed is ready at once (it survived Swarm's monitor period), any other waits the
 *   agent's default stabilisation window.
 */
import type { ServiceAssessment } from "./convergence.js";
import type { DeployEvent } from "./types.js";

export type ReadinessReason = "healthcheck" | "healthcheck_grace" | "grace" | "rolling_update" | "default_window";

export interface ReadinessHold {
  /** How long the service must stay converged, from the poll that first saw it so. */
  holdMs: number;
  reason: ReadinessReason;
}

export interface ReadinessOptions {
  /** The release's health grace (stackyard.yaml `services.<name>.healthGraceSeconds`), by full Swarm service name. */
  graceMs?: ReadonlyMap<string, number>;
  /** The window of a service with neither a healthcheck nor a declared grace. */
  defaultMs: number;
  /** Images (as services run them) whose image config declares a HEALTHCHECK. */
  healthcheckedImages?: ReadonlySet<string>;
}

export function hasHealthcheck(s: ServiceAssessment, healthcheckedImages?: ReadonlySet<string>): boolean {
  return vouchedByHealthcheck(
    { healthcheck: s.healthcheck, healthcheckDisabled: s.healthcheckDisabled, image: s.health.image },
    healthcheckedImages,
  );
}

/** The service's tasks are only called running once healthy: a healthcheck in its spec, or its image's, not off. */
export function vouchedByHealthcheck(
  service: { healthcheck?: boolean; healthcheckDisabled?: boolean; image: string },
  healthcheckedImages?: ReadonlySet<string>,
): boolean {
  return (
    service.healthcheck === true ||
    (service.healthcheckDisabled !== true && healthcheckedImages?.has(service.image) === true)
  );
}

export function readinessHold(s: ServiceAssessment, opts: ReadinessOptions): ReadinessHold {
  const grace = opts.graceMs?.get(s.health.name);
  if (hasHealthcheck(s, opts.healthcheckedImages)) {
    return grace !== undefined && grace > 0
      ? { holdMs: grace, reason: "healthcheck_grace" }
      : { holdMs: 0, reason: "healthcheck" };
  }
  if (grace !== undefined) return { holdMs: grace, reason: "grace" };
  if (s.updateState === "completed") return { holdMs: 0, reason: "rolling_update" };
  return { holdMs: opts.defaultMs, reason: "default_window" };
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10}s`;

/** The line said when a service converges: what the wait now holds it for, and why. */
export function holdStartedEvent(service: string, hold: ReadinessHold): DeployEvent {
  const data = { service, reason: hold.reason, holdMs: hold.holdMs };
  const message = {
    healthcheck: `service ${service}: tasks healthy (healthcheck passed); ready`,
    healthcheck_grace: `service ${service}: tasks healthy (healthcheck passed); waiting its health grace of ${seconds(hold.holdMs)} (stackyard.yaml)`,
    grace:
      hold.holdMs === 0
        ? `service ${service}: running as desired (no healthcheck); ready (health grace 0s in stackyard.yaml)`
        : `service ${service}: running as desired (no healthcheck); checking it stays up for its health grace of ${seconds(hold.holdMs)} (stackyard.yaml)`,
    rolling_update: `service ${service}: running as desired; Swarm's rolling update completed (the tasks outlived its monitor period); ready`,
    default_window: `service ${service}: running as desired (no healthcheck, no health grace declared); checking it stays up for ${seconds(hold.holdMs)}`,
  }[hold.reason];
  return { level: "info", message, data };
}

/** The line said when a service's hold ran out with the service still converged. */
export function holdEndedEvent(service: string, hold: ReadinessHold, heldMs: number): DeployEvent {
  const what = hold.reason === "default_window" ? "the default window" : "its health grace";
  return {
    level: "info",
    message: `service ${service}: stayed up for ${what} of ${seconds(hold.holdMs)}; ready`,
    data: { service, reason: hold.reason, holdMs: hold.holdMs, heldMs },
  };
}

/**
 * Tracks, across polls, since when each service has been converged and which have been said ready; `next` returns
 * the lines a new assessment is worth and whether every service is now ready.
 */
export class ReadinessTracker {
  private readonly since = new Map<string, number>();
  private readonly ready = new Set<string>();

  constructor(private readonly opts: ReadinessOptions) {}

  next(services: readonly ServiceAssessment[], now: number): { events: DeployEvent[]; allReady: boolean } {
    const events: DeployEvent[] = [];
    for (const s of services) {
      const name = s.health.name;
      if (!s.converged) {
        this.since.delete(s.serviceId);
        this.ready.delete(s.serviceId);
        continue;
      }
      const hold = readinessHold(s, this.opts);
      let since = this.since.get(s.serviceId);
      if (since === undefined) {
        since = now;
        this.since.set(s.serviceId, now);
        events.push(holdStartedEvent(name, hold));
      }
      if (!this.ready.has(s.serviceId) && now - since >= hold.holdMs) {
        this.ready.add(s.serviceId);
        if (hold.holdMs > 0) events.push(holdEndedEvent(name, hold, now - since));
      }
    }
    const allReady = services.length > 0 && services.every((s) => this.ready.has(s.serviceId));
    return { events, allReady };
  }

  /** The services converged but still held: name, how long so far, how long in all. */
  holding(
    services: readonly ServiceAssessment[],
    now: number,
  ): Array<{ service: string; heldMs: number; holdMs: number }> {
    return services.flatMap((s) => {
      const since = this.since.get(s.serviceId);
      if (since === undefined || this.ready.has(s.serviceId)) return [];
      return [{ service: s.health.name, heldMs: now - since, holdMs: readinessHold(s, this.opts).holdMs }];
    });
  }
}

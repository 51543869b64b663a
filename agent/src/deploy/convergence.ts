/**
 * Deciding, from snapshots of a stack, whether a rollout converged, failed or is still in progress, and which
 * progress events a new snapshot is worth. Pure functions over StackSnapshot; the polling loop is in waitForConvergence.
 *
 * Rules (per service):
 * - running = tasks of the current spec (up to date) in state running that are meant to run.
 * - converged when running == desired, no task of the current spec is still on its way (pending, starting…), no
 *   task of an older spec is still running (on a node that is not lost), and Swarm's rolling update is not in
 *   progress.
 * - FAILED when Swarm paused or rolled back the update, or when at least `failedTaskThreshold` (default 3) tasks
 *   of the current spec failed since the deploy started while running < desired. A task "failed" when it ended as
 *   failed, rejected or complete (a replicated task is not meant to exit, even with code 0). One failure is not
 *   enough: Swarm restarts tasks, and a single crash during start-up can recover.
 * - "since the deploy started" compares with a baseline snapshot taken before the deploy (task id → state), so
 *   old failures are not counted again and no clock is shared with the daemon.
 * The caller adds stabilisation: converged must hold for a while before it counts, unless every service just
 * completed a Swarm rolling update, which has its own monitor period (see waitForConvergence).
 */
import type {
  DeployEvent,
  RolloutService,
  RolloutTask,
  ServiceHealth,
  StackInspector,
  StackSnapshot,
} from "./types.js";

export const DEFAULT_FAILED_TASK_THRESHOLD = 3;
/** Swarm's default update monitor period: a task that survives this long is considered started. */
export const DEFAULT_STABILIZATION_MS = 5_000;
export const DEFAULT_POLL_INTERVAL_MS = 1_000;
/** Consecutive failures to read the stack before the wait gives up (a daemon restart takes a few polls). */
export const MAX_CONSECUTIVE_READ_ERRORS = 10;

const FAILED_STATES = new Set(["failed", "rejected", "complete"]);
const TERMINAL_STATES = new Set(["failed", "rejected", "complete", "shutdown", "orphaned", "remove"]);

export interface Baseline {
  taskStates: Map<string, string>;
}

export function takeBaseline(snapshot: StackSnapshot): Baseline {
  return { taskStates: new Map(snapshot.tasks.map((t) => [t.id, t.state])) };
}

export interface ServiceAssessment {
  serviceId: string;
  health: ServiceHealth;
  converged: boolean;
  /** Why the service is considered failed; null when it is not. */
  failure: string | null;
  /** Tasks of the current spec that failed since the baseline, newest first. */
  failedTasks: RolloutTask[];
  /** Scheduler messages of current-spec tasks still waiting to run (e.g. "no suitable node …"). */
  pendingErrors: string[];
  updateState: RolloutService["updateState"];
  updateMessage: string | null;
}

export interface StackAssessment {
  services: ServiceAssessment[];
  converged: boolean;
  /** The first failed service's reason, prefixed with its name. */
  failure: string | null;
}

export function assessStack(
  snapshot: StackSnapshot,
  baseline: Baseline,
  opts: { failedTaskThreshold?: number; serviceIds?: ReadonlySet<string> } = {},
): StackAssessment {
  const threshold = opts.failedTaskThreshold ?? DEFAULT_FAILED_TASK_THRESHOLD;
  const byService = new Map<string, RolloutTask[]>();
  for (const t of snapshot.tasks) {
    const list = byService.get(t.serviceId) ?? [];
    list.push(t);
    byService.set(t.serviceId, list);
  }
  const services = snapshot.services
    .filter((s) => !opts.serviceIds || opts.serviceIds.has(s.id))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => assessService(s, byService.get(s.id) ?? [], baseline, threshold));
  const failed = services.find((s) => s.failure !== null);
  return {
    services,
    converged: services.every((s) => s.converged),
    failure: failed ? `service ${failed.health.name}: ${failed.failure}` : null,
  };
}

function assessService(
  service: RolloutService,
  tasks: RolloutTask[],
  baseline: Baseline,
  threshold: number,
): ServiceAssessment {
  const current = tasks.filter((t) => t.upToDate);
  const running = current.filter((t) => t.state === "running" && t.desiredState === "running").length;
  const desired = service.desiredReplicas;
  const starting = current.filter(
    (t) => t.desiredState === "running" && t.state !== "running" && !TERMINAL_STATES.has(t.state),
  );
  const onTheWay = starting.length > 0;
  // A task of an older spec on a lost node stays "running" in Swarm's records until the node returns (it cannot
  // report the stop); Swarm has already replaced it, so it does not hold the rollout back.
  const staleRunning = tasks.some((t) => !t.upToDate && t.state === "running" && !t.nodeLost);
  const updating = service.updateState === "updating" || service.updateState === "rollback_started";
  const failedTasks = current
    .filter((t) => FAILED_STATES.has(t.state) && isNewSinceBaseline(t, baseline))
    .sort((a, b) => b.timestamp.localeCompare(a.timestamp));
  const pendingErrors = [...new Set(starting.flatMap((t) => (t.error ? [t.error] : [])))];

  let failure: string | null = null;
  // Swarm's update message names a task id only: the task's own error (e.g. "No such image" on one node) says why.
  const why = failedTasks[0] ? `; last failed: ${describeTask(failedTasks[0])}` : "";
  if (service.updateState === "paused" || service.updateState === "rollback_paused") {
    failure = `update paused by Swarm: ${service.updateMessage ?? "no reason given"}${why}`;
  } else if (service.updateState === "rollback_completed") {
    failure = `update failed and Swarm rolled it back: ${service.updateMessage ?? "no reason given"}${why}`;
  } else if (failedTasks.length >= threshold && running < desired) {
    const last = failedTasks[0];
    failure = `${failedTasks.length} tasks failed since the deploy started${last ? `; last: ${describeTask(last)}` : ""}`;
  }

  const converged = failure === null && running === desired && !onTheWay && !staleRunning && !updating;
  const lastError = failedTasks[0] ? describeTask(failedTasks[0]) : pendingErrors[0];
  const health: ServiceHealth = { name: service.name, desired, running, image: service.image, healthy: converged };
  if (lastError) health.lastError = lastError;
  return {
    serviceId: service.id,
    health,
    converged,
    failure,
    failedTasks,
    pendingErrors,
    updateState: service.updateState,
    updateMessage: service.updateMessage,
  };
}

/** A task counts as a new failure when it did not exist at the baseline or was still alive then. */
function isNewSinceBaseline(task: RolloutTask, baseline: Baseline): boolean {
  const before = baseline.taskStates.get(task.id);
  return before === undefined || !TERMINAL_STATES.has(before);
}

export function describeTask(t: RolloutTask): string {
  const what = t.error ?? (t.message || t.state);
  const exit = t.exitCode !== null && t.exitCode !== 0 ? ` (exit code ${t.exitCode})` : "";
  const exitZero = t.state === "complete" ? " (exited with code 0; replicated tasks must keep running)" : "";
  const where = t.nodeHostname ? ` on node ${t.nodeHostname}` : "";
  return `task ${t.slot ?? t.id.slice(0, 12)} ${t.state}${where}: ${what}${exit}${exitZero}`;
}

/**
 * Turns successive assessments into events, reporting only what changed: replica counts, newly failed tasks, new
 * scheduler errors and update state changes. Data carries names and numbers, never env or secret values.
 */
export class ProgressTracker {
  private readonly replicas = new Map<string, string>();
  private readonly reportedTasks = new Set<string>();
  private readonly pendingErrors = new Map<string, string>();
  private readonly updateStates = new Map<string, string>();

  next(assessment: StackAssessment): DeployEvent[] {
    const events: DeployEvent[] = [];
    for (const s of assessment.services) {
      const name = s.health.name;
      const counts = `${s.health.running}/${s.health.desired}`;
      if (this.replicas.get(s.serviceId) !== counts) {
        this.replicas.set(s.serviceId, counts);
        events.push({
          level: "info",
          message: `service ${name}: ${counts} replicas running`,
          data: { service: name, running: s.health.running, desired: s.health.desired, image: s.health.image },
        });
      }
      for (const t of [...s.failedTasks].reverse()) {
        if (this.reportedTasks.has(t.id)) continue;
        this.reportedTasks.add(t.id);
        events.push({
          level: "warn",
          message: `service ${name}: ${describeTask(t)}`,
          data: { service: name, taskId: t.id, slot: t.slot, state: t.state, error: t.error, exitCode: t.exitCode },
        });
      }
      const pending = s.pendingErrors.join("; ");
      if (pending && this.pendingErrors.get(s.serviceId) !== pending) {
        events.push({
          level: "warn",
          message: `service ${name}: tasks cannot start yet: ${pending}`,
          data: { service: name, reason: pending },
        });
      }
      this.pendingErrors.set(s.serviceId, pending);
      const update = s.updateState ?? "";
      if (update && this.updateStates.get(s.serviceId) !== update) {
        events.push({
          level: update === "updating" || update === "completed" ? "info" : "warn",
          message: `service ${name}: update ${update.replace("_", " ")}${s.updateMessage ? `: ${s.updateMessage}` : ""}`,
          data: { service: name, updateState: update },
        });
      }
      this.updateStates.set(s.serviceId, update);
    }
    return events;
  }
}

export interface ConvergenceOptions {
  stack: string;
  baseline: Baseline;
  /** Only these services (by id); all of the stack when absent. */
  serviceIds?: ReadonlySet<string>;
  emit: (event: DeployEvent) => void;
  signal: AbortSignal;
  pollIntervalMs?: number;
  stabilizationMs?: number;
  failedTaskThreshold?: number;
  now?: () => number;
  /** Called with every assessment, so the caller can report the last known health when it stops the wait. */
  onAssessment?: (assessment: StackAssessment) => void;
}

export type ConvergenceOutcome =
  | { outcome: "converged"; assessment: StackAssessment }
  | { outcome: "failed"; assessment: StackAssessment; error: string }
  | { outcome: "aborted"; assessment: StackAssessment | null };

/** Polls the stack until it converged and stayed so for the stabilisation period, failed, or the signal aborts. */
export async function waitForConvergence(
  engine: StackInspector,
  opts: ConvergenceOptions,
): Promise<ConvergenceOutcome> {
  const now = opts.now ?? Date.now;
  const pollIntervalMs = opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const stabilizationMs = opts.stabilizationMs ?? DEFAULT_STABILIZATION_MS;
  const tracker = new ProgressTracker();
  let last: StackAssessment | null = null;
  let convergedSince: number | null = null;
  let readErrors = 0;
  let lastReadError = "";

  while (!opts.signal.aborted) {
    let snapshot: StackSnapshot | null = null;
    try {
      snapshot = await engine.inspectStack(opts.stack);
      readErrors = 0;
      lastReadError = "";
    } catch (err) {
      readErrors++;
      const message = err instanceof Error ? err.message : String(err);
      if (readErrors >= MAX_CONSECUTIVE_READ_ERRORS) {
        const error = `could not read the stack state ${readErrors} times in a row: ${message}`;
        return { outcome: "failed", assessment: last ?? { services: [], converged: false, failure: error }, error };
      }
      if (message !== lastReadError)
        opts.emit({ level: "warn", message: `could not read the stack state: ${message}` });
      lastReadError = message;
    }
    if (snapshot && !opts.signal.aborted) {
      const assessment = assessStack(snapshot, opts.baseline, {
        failedTaskThreshold: opts.failedTaskThreshold,
        serviceIds: opts.serviceIds,
      });
      last = assessment;
      opts.onAssessment?.(assessment);
      for (const event of tracker.next(assessment)) opts.emit(event);
      if (assessment.failure) return { outcome: "failed", assessment, error: assessment.failure };
      if (assessment.converged) {
        convergedSince ??= now();
        // A completed rolling update already survived Swarm's own monitor period: no need to wait again.
        const monitored =
          assessment.services.length > 0 && assessment.services.every((s) => s.updateState === "completed");
        if (monitored || now() - convergedSince >= stabilizationMs) return { outcome: "converged", assessment };
      } else {
        convergedSince = null;
      }
    }
    await sleep(pollIntervalMs, opts.signal);
  }
  return { outcome: "aborted", assessment: last };
}

/** Resolves after `ms`, or as soon as the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Deciding, from snapshots of a stack, whether a rollout converged, failed or is still in progress, and which
 * progress events a new snapshot is worth. Pure functions over StackSnapshot; the polling loop is in waitForConvergence.
 *
 * Rules (per service):
 * - running = tasks of the current spec (up to date) in state running that are meant to run.
 * - converged when running == desired, no task of the current spec is still on its way (pending, starting…), no
 *   task of an older spec is still running (on a node that is not lost), and Swarm's rolling update is not in
 *   progress. A healthchecked service does not wait for the update's end: once every task was replaced by a
 *   healthy one, Swarm only sits out its monitor period, which the healthcheck already vouches for.
 * - FAILED when Swarm paused or rolled back the update, or when at least `failedTaskThreshold` (default 3) tasks
 *   of the current spec failed since the deploy started while running < desired. A task "failed" when it ended as
 *   failed, rejected or complete (a replicated task is not meant to exit, even with code 0). One failure is not
 *   enough: Swarm restarts tasks, and a single crash during start-up can recover.
 * - "since the deploy started" compares with a baseline snapshot taken before the deploy (task id → state), so
 *   old failures are not counted again and no clock is shared with the daemon.
 * The wait adds a readiness hold per service (readiness.ts): none for a healthchecked service (Swarm only calls
 * such a task running once it is healthy) unless the release declares a health grace for it, the declared grace
 * for one without a healthcheck, else none after a completed Swarm rolling update (it has its own monitor period)
 * and the default stabilisation window otherwise.
 *
 * A failure's headline is its root cause: the error of the task that failed (e.g. "No such image: x:1"), with
 * Swarm's part ("paused the update") as context, never Swarm's summary alone ("update paused … task abc").
 */
import type {
  DeployEvent,
  RolloutService,
  RolloutTask,
  ServiceHealth,
  StackInspector,
  StackSnapshot,
} from "./types.js";
import { ReadinessTracker, vouchedByHealthcheck } from "./readiness.js";

export const DEFAULT_FAILED_TASK_THRESHOLD = 3;
/** Swarm's default update monitor period: a task that survives this long is considered started. */
export const DEFAULT_STABILIZATION_MS = 5_000;
/**
 * How often the wait reads the stack (four list calls to the manager's engine at once): a quarter second keeps
 * what a rollout adds on top of Swarm's own convergence near 125 ms on average, where a one-second poll added 500.
 */
export const DEFAULT_POLL_INTERVAL_MS = 250;
/** Consecutive failures to read the stack before the wait gives up (a daemon restart takes a few polls). */
export const MAX_CONSECUTIVE_READ_ERRORS = 10;

const FAILED_STATES = new Set(["failed", "rejected", "complete"]);
const TERMINAL_STATES = new Set(["failed", "rejected", "complete", "shutdown", "orphaned", "remove"]);

/** With no progress line for this long, the wait says what it is still waiting for. */
export const DEFAULT_QUIET_PROGRESS_MS = 3_000;

export interface Baseline {
  taskStates: Map<string, string>;
  /** Task id → `state/desiredState` before the deploy: the task progress lines report changes from there. */
  taskKeys?: Map<string, string>;
}

export function takeBaseline(snapshot: StackSnapshot): Baseline {
  return {
    taskStates: new Map(snapshot.tasks.map((t) => [t.id, t.state])),
    taskKeys: new Map(snapshot.tasks.map((t) => [t.id, taskKey(t)])),
  };
}

const taskKey = (t: RolloutTask): string => `${t.state}/${t.desiredState}`;

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
  /** The stack's tasks of this service (every spec), for the task-level progress lines. */
  tasks: RolloutTask[];
  /** The spec declares a healthcheck. */
  healthcheck: boolean;
  /** The spec turns the image's healthcheck off. */
  healthcheckDisabled: boolean;
}

export interface StackAssessment {
  services: ServiceAssessment[];
  converged: boolean;
  /** The first failed service's reason, prefixed with its name. */
  failure: string | null;
  nodeNames?: Record<string, string>;
}

export function assessStack(
  snapshot: StackSnapshot,
  baseline: Baseline,
  opts: {
    failedTaskThreshold?: number;
    serviceIds?: ReadonlySet<string>;
    /** Images (as services run them) whose image config declares a HEALTHCHECK. */
    healthcheckedImages?: ReadonlySet<string>;
  } = {},
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
    .map((s) =>
      assessService(
        s,
        byService.get(s.id) ?? [],
        baseline,
        threshold,
        vouchedByHealthcheck(s, opts.healthcheckedImages),
      ),
    );
  const failed = services.find((s) => s.failure !== null);
  return {
    services,
    converged: services.every((s) => s.converged),
    failure: failed ? `service ${failed.health.name}: ${failed.failure}` : null,
    ...(snapshot.nodeNames ? { nodeNames: snapshot.nodeNames } : {}),
  };
}

function assessService(
  service: RolloutService,
  tasks: RolloutTask[],
  baseline: Baseline,
  threshold: number,
  healthchecked: boolean,
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
  // A rollback always runs to its end (it ends as a failure); a forward update holds a healthchecked service back
  // only until every task was replaced (the counts above), not through Swarm's monitor period.
  const updating = (service.updateState === "updating" && !healthchecked) || service.updateState === "rollback_started";
  const failedTasks = current
    .filter((t) => FAILED_STATES.has(t.state) && isNewSinceBaseline(t, baseline))
    .sort((a, b) => b.timestamp.localeCompare(a.timestamp));
  const pendingErrors = [...new Set(starting.flatMap((t) => (t.error ? [t.error] : [])))];

  let failure: string | null = null;
  if (service.updateState === "paused" || service.updateState === "rollback_paused") {
    const what = service.updateState === "paused" ? "Swarm paused the update" : "Swarm paused its rollback";
    failure = rootCauseHeadline(rootCauseTask(service, tasks, baseline), what, service.updateMessage);
  } else if (service.updateState === "rollback_completed") {
    failure = rootCauseHeadline(
      rootCauseTask(service, tasks, baseline),
      "Swarm rolled the update back",
      service.updateMessage,
    );
  } else if (failedTasks.length >= threshold && running < desired) {
    failure = rootCauseHeadline(
      failedTasks[0] ?? null,
      `${failedTasks.length} tasks failed since the deploy started`,
      null,
    );
  }

  const converged = failure === null && running === desired && !onTheWay && !staleRunning && !updating;
  const lastError = failedTasks[0] ? describeTask(failedTasks[0]) : pendingErrors[0];
  const health: ServiceHealth = { name: service.name, desired, running, image: service.image, healthy: converged };
  if (lastError) health.lastError = lastError;
  if (service.updateState) health.updateState = service.updateState;
  return {
    serviceId: service.id,
    health,
    converged,
    failure,
    failedTasks,
    pendingErrors,
    updateState: service.updateState,
    updateMessage: service.updateMessage,
    tasks,
    healthcheck: service.healthcheck === true,
    healthcheckDisabled: service.healthcheckDisabled === true,
  };
}

/**
 * The task whose failure made Swarm pause or roll back: the one Swarm's message names ("… early termination of
 * task <id>"), else the newest task of any spec that failed since the baseline (after a Swarm rollback the failed
 * tasks belong to the spec that was rolled away from), else null.
 */
export function rootCauseTask(service: RolloutService, tasks: RolloutTask[], baseline: Baseline): RolloutTask | null {
  const named = /task ([a-z0-9]{6,})/i.exec(service.updateMessage ?? "")?.[1]?.toLowerCase();
  if (named) {
    const task = tasks.find((t) => t.id.toLowerCase().startsWith(named));
    if (task && (task.error || FAILED_STATES.has(task.state))) return task;
  }
  const failed = tasks
    .filter((t) => FAILED_STATES.has(t.state) && isNewSinceBaseline(t, baseline))
    .sort((a, b) => Number(b.upToDate) - Number(a.upToDate) || b.timestamp.localeCompare(a.timestamp));
  return failed[0] ?? null;
}

/** What went wrong in the task's own words: its error ("No such image: x:1"), else its message or state. */
export function taskCause(t: RolloutTask): string {
  if (t.state === "complete") return "the container exited with code 0 (a replicated task must keep running)";
  const what = t.error ?? (t.message || t.state);
  return t.exitCode !== null && t.exitCode !== 0 && !what.includes(String(t.exitCode))
    ? `${what} (exit code ${t.exitCode})`
    : what;
}

/**
 * "<task error> (task <slot> <state>; <what Swarm did>)"; without a task, Swarm's own message stands in, since
 * it is then the only account there is.
 */
export function rootCauseHeadline(task: RolloutTask | null, context: string, swarmMessage: string | null): string {
  if (!task) return `${context}: ${swarmMessage ?? "no reason given"}`;
  const where = task.nodeHostname ? ` on node ${task.nodeHostname}` : "";
  return `${taskCause(task)} (task ${task.slot ?? task.id.slice(0, 12)} ${task.state}${where}; ${context})`;
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
  private readonly taskKeys: Map<string, string>;

  /** With the baseline, tasks that did not change since before the deploy are not reported. */
  constructor(baseline?: Baseline) {
    this.taskKeys = new Map(baseline?.taskKeys ?? []);
  }

  next(assessment: StackAssessment): DeployEvent[] {
    const events: DeployEvent[] = [];
    for (const s of assessment.services) {
      const name = s.health.name;
      events.push(...this.taskLines(name, s.tasks, assessment.nodeNames));
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

  /**
   * One line per task that changed since it was last seen: a new task on its way or running, an old one stopping
   * or stopped, with its node. Failures are not repeated here (the failed-task warnings say them, with the error).
   */
  private taskLines(service: string, tasks: RolloutTask[], nodeNames?: Record<string, string>): DeployEvent[] {
    const events: DeployEvent[] = [];
    const ordered = [...tasks].sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0) || a.timestamp.localeCompare(b.timestamp));
    for (const t of ordered) {
      const key = taskKey(t);
      if (this.taskKeys.get(t.id) === key) continue;
      this.taskKeys.set(t.id, key);
      if (FAILED_STATES.has(t.state)) continue;
      const line = taskProgress(t);
      if (!line) continue;
      const node = t.nodeId ? (nodeNames?.[t.nodeId] ?? t.nodeId.slice(0, 12)) : null;
      events.push({
        level: "info",
        message: `service ${service}: ${line.spec} task ${t.slot ?? t.id.slice(0, 12)} ${line.what}${node ? ` on ${node}` : ""}`,
        data: {
          service,
          taskId: t.id,
          slot: t.slot,
          node,
          state: t.state,
          desiredState: t.desiredState,
          spec: line.spec,
        },
      });
    }
    return events;
  }
}

/** How a task's state reads in a progress line; null for states not worth a line (a removed task). */
function taskProgress(t: RolloutTask): { spec: "new" | "old"; what: string } | null {
  const spec = t.upToDate ? "new" : "old";
  if (t.desiredState === "running") {
    if (t.state === "running") return { spec, what: "running" };
    if (TERMINAL_STATES.has(t.state)) return null;
    return { spec, what: t.state === "starting" ? "starting" : `starting (${t.state})` };
  }
  // Swarm's stop-first update prepares the new task up to "ready" while the old one of its slot stops.
  if (t.desiredState === "ready") {
    if (TERMINAL_STATES.has(t.state)) return null;
    return { spec, what: t.state === "ready" ? "ready, waiting for the old task to stop" : `preparing (${t.state})` };
  }
  if (t.state === "running") return { spec, what: "stopping" };
  if (t.state === "shutdown" || t.state === "complete") return { spec, what: "stopped" };
  if (TERMINAL_STATES.has(t.state)) return null;
  return { spec, what: `stopping (${t.state})` };
}

/** "still waiting: <svc> 1/2 running (update updating), …" or what the converged services are held for, for a quiet stretch. */
export function waitingLine(
  assessment: StackAssessment,
  holding: ReadonlyArray<{ service: string; heldMs: number; holdMs: number }>,
): DeployEvent {
  const waiting = assessment.services.filter((s) => !s.converged);
  if (waiting.length === 0) {
    const parts = holding.map((h) => `${h.service} ${Math.floor(h.heldMs / 1000)}s of ${Math.round(h.holdMs / 1000)}s`);
    return {
      level: "info",
      message: `all ${assessment.services.length} service(s) running as desired; checking they stay up (${parts.join(", ")})`,
      data: { waiting: [], holding: holding.map((h) => ({ ...h })) },
    };
  }
  const parts = waiting.map((s) => {
    const update =
      s.updateState === "updating" || s.updateState === "rollback_started"
        ? `, update ${s.updateState.replace("_", " ")}`
        : "";
    const stopping = s.tasks
      .filter((t) => !t.upToDate && t.state === "running" && t.desiredState !== "running")
      .map((t) => t.slot ?? t.id.slice(0, 12));
    const old = stopping.length > 0 ? `, old task ${stopping.join(", ")} stopping` : "";
    return `${s.health.name} ${s.health.running}/${s.health.desired} running${update}${old}`;
  });
  return {
    level: "info",
    message: `still waiting: ${parts.join("; ")}`,
    data: {
      waiting: waiting.map((s) => ({ service: s.health.name, running: s.health.running, desired: s.health.desired })),
    },
  };
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
  /** With no progress line for this long, a "still waiting" line is emitted (0 turns them off). */
  quietProgressMs?: number;
  /** Images (as services run them) whose image config declares a HEALTHCHECK: healthy tasks need no wait. */
  healthcheckedImages?: ReadonlySet<string>;
  /** The release's health grace per service (full Swarm service name → ms): see readiness.ts. */
  healthGraceMs?: ReadonlyMap<string, number>;
  /** Called with every assessment, so the caller can report the last known health when it stops the wait. */
  onAssessment?: (assessment: StackAssessment) => void;
}

export type ConvergenceOutcome =
  | { outcome: "converged"; assessment: StackAssessment }
  | { outcome: "failed"; assessment: StackAssessment; error: string }
  | { outcome: "aborted"; assessment: StackAssessment | null };

/**
 * Polls the stack until every service converged and stayed so for its readiness hold (readiness.ts: healthcheck,
 * declared health grace or the default window), one failed, or the signal aborts.
 */
export async function waitForConvergence(
  engine: StackInspector,
  opts: ConvergenceOptions,
): Promise<ConvergenceOutcome> {
  const now = opts.now ?? Date.now;
  const pollIntervalMs = opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const stabilizationMs = opts.stabilizationMs ?? DEFAULT_STABILIZATION_MS;
  const quietMs = opts.quietProgressMs ?? DEFAULT_QUIET_PROGRESS_MS;
  const tracker = new ProgressTracker(opts.baseline);
  const readiness = new ReadinessTracker({
    defaultMs: stabilizationMs,
    ...(opts.healthGraceMs ? { graceMs: opts.healthGraceMs } : {}),
    ...(opts.healthcheckedImages ? { healthcheckedImages: opts.healthcheckedImages } : {}),
  });
  let last: StackAssessment | null = null;
  let readErrors = 0;
  let lastReadError = "";
  let lastLineAt = now();
  const emit = (event: DeployEvent) => {
    lastLineAt = now();
    opts.emit(event);
  };

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
      if (message !== lastReadError) emit({ level: "warn", message: `could not read the stack state: ${message}` });
      lastReadError = message;
    }
    if (snapshot && !opts.signal.aborted) {
      const assessment = assessStack(snapshot, opts.baseline, {
        failedTaskThreshold: opts.failedTaskThreshold,
        serviceIds: opts.serviceIds,
        ...(opts.healthcheckedImages ? { healthcheckedImages: opts.healthcheckedImages } : {}),
      });
      last = assessment;
      opts.onAssessment?.(assessment);
      for (const event of tracker.next(assessment)) emit(event);
      if (assessment.failure) return { outcome: "failed", assessment, error: assessment.failure };
      const ready = readiness.next(assessment.services, now());
      for (const event of ready.events) emit(event);
      if (assessment.converged && ready.allReady) return { outcome: "converged", assessment };
      if (quietMs > 0 && now() - lastLineAt >= quietMs)
        emit(waitingLine(assessment, readiness.holding(assessment.services, now())));
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

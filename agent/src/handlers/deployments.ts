/**
 * DeployStack, RollbackStack and CancelDeployment. A deployment outlives its command: the reply says `started` at
 * once, the executor runs in the background, and every step reaches the control plane as a deployment event
 * (numbered from the command's `firstSeq`), the last one carrying the outcome. A deployment id runs at most once
 * per agent process: a redelivered command gets `duplicate`. After an agent restart that memory is gone, which is
 * safe because the control plane only dispatches PENDING deployments.
 */
import type { DeployStack, DeploymentOutcome, RollbackStack } from "../../../nats/protocol/messages.js";
import { secretMasker as protocolSecretMasker } from "../../../nats/protocol/masking.js";
import type { AgentServices } from "../agent.js";
import type { CommandContext, CommandHandlers } from "../commands.js";
import type { DockerCli } from "../docker/cli.js";
import { runDeployment, type DeployDeps } from "../deploy/executor.js";
import { openRegistryLogins, openSecrets } from "../deploy/unseal.js";
import type { DeployEngine, DeployEvent, DeployRequest, DeployResult, ServiceHealth } from "../deploy/types.js";
import { DeploymentEventStream, type DeploymentEventInput } from "../events.js";
import type { Logger } from "../logger.js";
import { AgentStoppingError, RollbackTargetMismatchError, StackBusyError } from "./errors.js";
import { OWNERSHIP_LABELS } from "../../../nats/protocol/labels.js";

/** How many finished deployment ids are remembered for deduplication. */
export const REMEMBERED_DEPLOYMENTS = 10_000;
/** The executor's wording of a deploy timeout (executor.ts `stopped()`); tested against the real executor. */
const TIMED_OUT = /^timed out after \d+s/;

/** Executor settings; production uses the executor's defaults, tests shorten them. */
export type DeployTuning = Pick<DeployDeps, "pollIntervalMs" | "stabilizationMs" | "failedTaskThreshold">;

export interface DeploymentManagerDeps {
  engine: DeployEngine;
  cli: DockerCli;
  services: AgentServices;
  tuning?: DeployTuning;
  rememberFinished?: number;
}

type StopCause = { kind: "cancel"; reason: string | null } | { kind: "shutdown" };

interface RunningDeployment {
  stackName: string;
  controller: AbortController;
  stop: StopCause | null;
}

export interface Terminal {
  outcome: DeploymentOutcome;
  event: DeploymentEventInput;
}

/** The last event of a deployment: its outcome and, unless it succeeded, why. */
/**
 * The last event of a deployment: its outcome and, unless it succeeded, why — the only line that says how the
 * deployment ended. `data.error` is the headline alone (the root cause); `data.stackChanged` says whether
 * `docker stack deploy` ran, which the control plane's failure policy needs (nothing to roll back otherwise).
 */
export function terminalEvent(result: DeployResult, stop: StopCause | null, stackName: string): Terminal {
  const stackChanged = result.phase === "deploy" || result.phase === "converge" || result.phase === "post_deploy";
  const data = {
    status: result.status,
    services: result.services.map(serviceData),
    ...(result.phase ? { phase: result.phase, stackChanged } : {}),
    ...(result.elapsedMs !== undefined ? { elapsedMs: result.elapsedMs } : {}),
    // The pins of a success (nats/protocol/image-pins.ts); a control plane that predates them ignores the field.
    ...(result.images ? { images: result.images } : {}),
  };
  if (result.status === "SUCCEEDED") {
    const took = result.elapsedMs !== undefined ? ` in ${Math.round(result.elapsedMs / 100) / 10}s` : "";
    return {
      outcome: "succeeded",
      event: {
        level: "info",
        message: `deployment succeeded: stack ${stackName}, ${result.services.length} service(s) running as desired${took}`,
        data,
      },
    };
  }
  const error = result.error ?? "no reason given";
  if (result.status === "FAILED") {
    return {
      outcome: TIMED_OUT.test(error) ? "timed_out" : "failed",
      event: {
        level: "error",
        message: `deployment failed: ${error}${result.note ? `; ${result.note}` : ""}`,
        data: { ...data, error, ...(result.errorCode ? { code: result.errorCode } : {}) },
      },
    };
  }
  const left = error.replace(/^canceled: /, "");
  if (stop?.kind === "shutdown") {
    // Nobody asked for this: to the control plane it is a failed deployment, with the cause spelled out.
    const headline = `the agent stopped during the deployment: ${left}`;
    return {
      outcome: "failed",
      event: { level: "error", message: headline, data: { ...data, error: headline, cause: "agent_stopped" } },
    };
  }
  const by = stop?.kind === "cancel" && stop.reason ? ` (${stop.reason})` : "";
  return { outcome: "cancelled", event: { level: "warn", message: `deployment canceled${by}: ${left}`, data } };
}

function serviceData(s: ServiceHealth): Record<string, unknown> {
  return {
    service: s.name,
    image: s.image,
    running: s.running,
    desired: s.desired,
    healthy: s.healthy,
    ...(s.lastError ? { lastError: s.lastError } : {}),
    ...(s.updateState ? { updateState: s.updateState } : {}),
  };
}

/**
 * Replaces the command's secret values in an event. The control plane masks too; this keeps values the CLI or a
 * task error might echo from ever leaving the host.
 */
export function secretMasker(values: readonly string[]): (event: DeploymentEventInput) => DeploymentEventInput {
  const mask = protocolSecretMasker(values);
  return (event) => ({
    level: event.level,
    message: mask.text(event.message),
    ...(event.data ? { data: mask.json(event.data) } : {}),
  });
}

export class DeploymentManager {
  private readonly running = new Map<string, RunningDeployment>();
  private readonly finished = new Set<string>();
  /** Deployments whose terminal event is still being delivered, too. */
  private readonly active = new Set<Promise<void>>();
  private readonly limit: number;

  constructor(private readonly deps: DeploymentManagerDeps) {
    this.limit = deps.rememberFinished ?? REMEMBERED_DEPLOYMENTS;
    const { signal } = deps.services;
    const onStop = () => {
      for (const run of this.running.values()) {
        run.stop ??= { kind: "shutdown" };
        run.controller.abort();
      }
    };
    if (signal.aborted) onStop();
    else signal.addEventListener("abort", onStop, { once: true });
  }

  /** Starts the deployment in the background, or says it is a duplicate; throws when it cannot start at all. */
  start(payload: DeployStack | RollbackStack, log: Logger): "started" | "duplicate" {
    const id = payload.deploymentId;
    if (this.running.has(id) || this.finished.has(id)) {
      log.info("deployment already started here; not deploying again", { deploymentId: id });
      return "duplicate";
    }
    if (this.deps.services.signal.aborted) throw new AgentStoppingError(`deployment ${id} was not started`);
    if ("targetReleaseId" in payload && payload.labels[OWNERSHIP_LABELS.release] !== payload.targetReleaseId) {
      throw new RollbackTargetMismatchError(payload.targetReleaseId, payload.labels[OWNERSHIP_LABELS.release]);
    }
    for (const [otherId, other] of this.running) {
      if (other.stackName === payload.stackName) throw new StackBusyError(payload.stackName, otherId);
    }
    // Throws a coded refusal (SEAL_*) before anything starts when a value does not open.
    const secrets = openSecrets(payload, this.deps.services.clusterId, this.deps.services.sealKeys);
    const registryLogins = openRegistryLogins(payload, this.deps.services.clusterId, this.deps.services.sealKeys);
    const run: RunningDeployment = { stackName: payload.stackName, controller: new AbortController(), stop: null };
    this.running.set(id, run);
    const task = this.execute(
      payload,
      { secrets, registryLogins },
      run,
      log.child({ deploymentId: id, stack: payload.stackName }),
    );
    this.active.add(task);
    void task.finally(() => this.active.delete(task));
    return "started";
  }

  /** Aborts a deployment running here; false when there is none with that id (unknown or already ended). */
  cancel(deploymentId: string, reason: string | null): boolean {
    const run = this.running.get(deploymentId);
    if (!run) return false;
    run.stop ??= { kind: "cancel", reason };
    run.controller.abort();
    return true;
  }

  isRunning(deploymentId: string): boolean {
    return this.running.has(deploymentId);
  }

  /** The id of a deployment of this Swarm stack running here, if any. */
  runningOn(stackName: string): string | undefined {
    for (const [id, run] of this.running) if (run.stackName === stackName) return id;
    return undefined;
  }

  /** Resolves when every deployment started so far has ended and its events were delivered (or given up on). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.active]);
  }

  private async execute(
    payload: DeployStack | RollbackStack,
    opened: Pick<DeployRequest, "secrets" | "registryLogins">,
    run: RunningDeployment,
    log: Logger,
  ): Promise<void> {
    const { services } = this.deps;
    const stream = new DeploymentEventStream({
      publish: services.publish,
      clusterId: services.clusterId,
      deploymentId: payload.deploymentId,
      firstSeq: payload.firstSeq,
      now: services.now,
      log,
    });
    const { secrets, registryLogins } = opened;
    const mask = secretMasker([
      ...secrets.map((s) => s.value),
      ...registryLogins.flatMap((l) => [l.password, Buffer.from(`${l.username}:${l.password}`).toString("base64")]),
    ]);
    const emit = (event: DeployEvent) => stream.emit(mask(event));
    log.info("deployment started", { firstSeq: payload.firstSeq, secrets: payload.secrets.length });
    if ("targetReleaseId" in payload) {
      emit({
        level: "warn",
        message: `rolling back to release ${payload.targetReleaseId}${payload.fromReleaseId ? ` from release ${payload.fromReleaseId}` : ""}: volumes and data are not rolled back`,
        data: {
          rollback: true,
          command: "RollbackStack",
          targetReleaseId: payload.targetReleaseId,
          fromReleaseId: payload.fromReleaseId,
        },
      });
    }

    let result: DeployResult;
    try {
      result = await runDeployment(
        {
          deploymentId: payload.deploymentId,
          stackName: payload.stackName,
          composeYaml: payload.composeYaml,
          env: payload.env,
          secrets,
          registryLogins,
          labels: payload.labels,
          adopt: payload.adopt,
          keepSecretVersions: payload.keepSecretVersions,
          prune: payload.prune,
          resolveImage: payload.resolveImage,
          withRegistryAuth: payload.withRegistryAuth,
          timeoutSeconds: payload.timeoutSeconds,
          ...(payload.hooks ? { hooks: payload.hooks } : {}),
          ...(payload.healthGraceSeconds ? { healthGraceSeconds: payload.healthGraceSeconds } : {}),
        },
        {
          engine: this.deps.engine,
          cli: this.deps.cli,
          emit,
          signal: run.controller.signal,
          now: services.now,
          ...this.deps.tuning,
        },
      );
    } catch (err) {
      // runDeployment reports failures in its result; reaching this is a bug, whose details stay in the local log.
      log.error("deployment executor crashed", { err });
      result = { status: "FAILED", error: "the agent failed to run the deployment; see its log", services: [] };
    }

    const terminal = terminalEvent(result, run.stop, payload.stackName);
    // Forget the run before reporting its end: the control plane may dispatch the stack's next deployment as
    // soon as it stores the terminal event, and that one must not be refused as STACK_BUSY.
    this.remember(payload.deploymentId);
    this.running.delete(payload.deploymentId);
    log.info("deployment ended", { status: result.status, outcome: terminal.outcome });
    await stream.finish(terminal.outcome, mask(terminal.event));
    if (stream.dropped > 0) log.warn("some deployment events could not be delivered", { dropped: stream.dropped });
  }

  private remember(deploymentId: string): void {
    this.finished.add(deploymentId);
    if (this.finished.size > this.limit) {
      const oldest = this.finished.values().next();
      if (!oldest.done) this.finished.delete(oldest.value);
    }
  }
}

export function createDeploymentHandlers(
  manager: DeploymentManager,
): Pick<Required<CommandHandlers>, "DeployStack" | "RollbackStack" | "CancelDeployment"> {
  const start = async (payload: DeployStack | RollbackStack, ctx: CommandContext) => ({
    deploymentId: payload.deploymentId,
    status: manager.start(payload, ctx.log),
  });
  return {
    DeployStack: start,
    RollbackStack: start,
    CancelDeployment: async (payload, ctx) => {
      const cancelled = manager.cancel(payload.deploymentId, payload.reason);
      ctx.log.info(cancelled ? "deployment cancel requested" : "cancel for a deployment not running here", {
        deploymentId: payload.deploymentId,
      });
      return { deploymentId: payload.deploymentId, cancelled };
    },
  };
}

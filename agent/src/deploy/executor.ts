/**
 * Runs one deployment on this swarm: versioned secrets → `docker stack deploy` (every output line an event) →
 * wait for convergence → clean up unused secrets. Ends SUCCEEDED, FAILED (error, task error or timeout) or
 * CANCELED (signal aborted); never throws for a deployment-level failure. The outcome is said once, by the
 * caller's terminal event (handlers/deployments.ts `terminalEvent`), from the result returned here. Events carry names and counts only:
 * masking of values echoed by the CLI is the control plane's job, but no secret or env value is ever put in `data`.
 */
import { DockerCliError, type DockerCli } from "../docker/cli.js";
import {
  DEFAULT_FAILED_TASK_THRESHOLD,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_STABILIZATION_MS,
  takeBaseline,
  waitForConvergence,
  type Baseline,
  type StackAssessment,
} from "./convergence.js";
import { OWNERSHIP_LABELS } from "../../../nats/protocol/labels.js";
import { DeployError, InvalidRequestError, SwarmStackNotOwnedError } from "./errors.js";
import { runHook, type HookEngine, type HookRunDeps } from "./hooks.js";
import { composeImages, preflightImages } from "./image-preflight.js";
import { resolveImagePins, type ImageLookup } from "./image-pins.js";
import { ensureSecrets, removeUnusedSecrets } from "./secrets.js";
import type { DeployEngine, DeployPhase, DeployRequest, DeployResult, Emit, ServiceHealth } from "./types.js";

export interface DeployDeps {
  engine: DeployEngine;
  cli: DockerCli;
  emit: Emit;
  signal: AbortSignal;
  now?: () => number;
  pollIntervalMs?: number;
  /** How long the stack must stay converged before the deployment counts as SUCCEEDED. */
  stabilizationMs?: number;
  failedTaskThreshold?: number;
  /** For the image pre-flight's registry lookups; defaults to the global fetch. */
  fetch?: typeof fetch;
}

type Phase = DeployPhase;

const CANCEL_NOTE: Record<Phase, string> = {
  prepare: "the stack was not changed",
  preflight: "the stack was not changed",
  secrets: "the stack was not changed; secrets created so far are kept",
  pre_deploy: "the stack was not changed; the pre_deploy hook's job was stopped and removed",
  deploy: "docker stack deploy was interrupted: stack left as deployed so far; services may be mid-update",
  converge: "stack left as deployed so far; services may be mid-update",
  post_deploy: "the services are deployed; the post_deploy hook's job was stopped and removed",
};

export async function runDeployment(req: DeployRequest, deps: DeployDeps): Promise<DeployResult> {
  const { engine, cli, emit } = deps;
  const started = (deps.now ?? Date.now)();
  // One controller stops the CLI and the polling for both causes; `stopReason` tells them apart afterwards.
  const run = new AbortController();
  let stopReason: "canceled" | "timeout" | null = null;
  const onCancel = () => {
    stopReason ??= "canceled";
    run.abort();
  };
  if (deps.signal.aborted) onCancel();
  else deps.signal.addEventListener("abort", onCancel, { once: true });
  const timer = setTimeout(() => {
    stopReason ??= "timeout";
    run.abort();
  }, req.timeoutSeconds * 1000);

  let phase: Phase = "prepare";
  let services: ServiceHealth[] = [];
  const remember = (a: StackAssessment) => {
    services = a.services.map((s) => s.health);
  };

  const elapsed = () => (deps.now ?? Date.now)() - started;
  const stopped = (): DeployResult => {
    if (stopReason === "timeout") {
      const error = `timed out after ${req.timeoutSeconds}s${pendingSummary(services)}`;
      return { status: "FAILED", error, note: CANCEL_NOTE[phase], phase, elapsedMs: elapsed(), services };
    }
    return { status: "CANCELED", error: `canceled: ${CANCEL_NOTE[phase]}`, phase, elapsedMs: elapsed(), services };
  };

  try {
    emit({
      level: "info",
      message: `deploying stack ${req.stackName}`,
      data: {
        deploymentId: req.deploymentId,
        stack: req.stackName,
        prune: req.prune,
        resolveImage: req.resolveImage,
        withRegistryAuth: req.withRegistryAuth,
        timeoutSeconds: req.timeoutSeconds,
        secrets: req.secrets.map((s) => s.name),
        registries: req.registryLogins.map((l) => l.registry),
        envVars: Object.keys(req.env).length,
        ...(req.adopt ? { adopt: true } : {}),
      },
    });
    if (run.signal.aborted) return stopped();

    const baseline = await readBaseline(deps, req.stackName);
    if (run.signal.aborted) return stopped();
    await checkOwnership(deps, req);

    phase = "preflight";
    await preflightImages(req.composeYaml, req.registryLogins, {
      fetch: deps.fetch ?? fetch,
      hasImage: (image) => engine.hasImage(image),
      emit,
      signal: run.signal,
    });
    if (run.signal.aborted) return stopped();

    phase = "secrets";
    await ensureSecrets(engine, req.stackName, req.secrets, emit, req.labels);
    if (run.signal.aborted) return stopped();

    const hooks = req.hooks ?? [];
    const pre = hooks.find((h) => h.phase === "pre_deploy");
    if (pre) {
      phase = "pre_deploy";
      await runHook(req, pre, hookDeps(deps, run.signal));
      if (run.signal.aborted) return stopped();
    }

    phase = "deploy";
    try {
      await cli.stackDeploy({
        stackName: req.stackName,
        composeYaml: req.composeYaml,
        env: req.env,
        prune: req.prune,
        resolveImage: req.resolveImage,
        withRegistryAuth: req.withRegistryAuth,
        registryLogins: req.registryLogins,
        signal: run.signal,
        onLine: ({ stream, line }) =>
          emit({ level: stream === "stderr" ? "warn" : "info", message: line, data: { source: "docker", stream } }),
      });
    } catch (err) {
      if (run.signal.aborted) return stopped();
      throw err;
    }
    if (run.signal.aborted) return stopped();
    emit({ level: "info", message: "docker stack deploy finished; waiting for services to converge" });

    phase = "converge";
    const healthcheckedImages = await imagesWithHealthcheck(engine, req.composeYaml);
    const result = await waitForConvergence(engine, {
      healthcheckedImages,
      healthGraceMs: healthGraceMs(req),
      stack: req.stackName,
      baseline,
      emit,
      signal: run.signal,
      now: deps.now,
      pollIntervalMs: deps.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      stabilizationMs: deps.stabilizationMs ?? DEFAULT_STABILIZATION_MS,
      failedTaskThreshold: deps.failedTaskThreshold ?? DEFAULT_FAILED_TASK_THRESHOLD,
      onAssessment: remember,
    });
    if (result.outcome === "aborted") return stopped();
    remember(result.assessment);
    if (result.outcome === "failed") {
      return {
        status: "FAILED",
        error: result.error,
        note: swarmNote(services),
        phase,
        elapsedMs: elapsed(),
        services,
      };
    }

    const post = hooks.find((h) => h.phase === "post_deploy");
    if (post) {
      phase = "post_deploy";
      await runHook(req, post, hookDeps(deps, run.signal));
      if (run.signal.aborted) return stopped();
    }

    const images = await captureImagePins(deps, req.stackName, services);
    await cleanUpSecrets(deps, req);
    return { status: "SUCCEEDED", phase, elapsedMs: elapsed(), services, ...(images ? { images } : {}) };
  } catch (err) {
    if (run.signal.aborted && stopReason) return stopped();
    const error = describeFailure(err);
    // Refusals of the agent's own (DeployError) carry their code to the deployment; other failures keep the message.
    return {
      status: "FAILED",
      error,
      ...(err instanceof DeployError ? { errorCode: err.code } : {}),
      ...(phase === "post_deploy"
        ? { note: "the services are deployed; the post_deploy hook failed" }
        : phase === "deploy" || phase === "converge"
          ? {}
          : phase === "pre_deploy"
            ? { note: "the stack's services were not changed" }
            : { note: "nothing was changed on the swarm" }),
      phase,
      elapsedMs: elapsed(),
      services,
    };
  } finally {
    clearTimeout(timer);
    deps.signal.removeEventListener("abort", onCancel);
  }
}

function hookDeps(deps: DeployDeps, signal: AbortSignal): HookRunDeps {
  const { engine } = deps;
  if (!engine.createJobService || !engine.removeService || !engine.networkIds || !engine.followServiceLogs) {
    throw new InvalidRequestError("this agent's Docker engine cannot run hook jobs");
  }
  return {
    engine: engine as HookEngine,
    emit: deps.emit,
    signal,
    pollIntervalMs: Math.min(deps.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS, 1_000),
    ...(deps.now ? { now: deps.now } : {}),
  };
}

/** The release's health grace by full Swarm service name (`<stack>_<service>`, as the stack's services are named). */
function healthGraceMs(req: DeployRequest): Map<string, number> {
  return new Map(
    Object.entries(req.healthGraceSeconds ?? {}).map(([service, s]) => [`${req.stackName}_${service}`, s * 1000]),
  );
}

/** The stack's tasks before the deploy, so failures from earlier deployments are not blamed on this one. */
async function readBaseline(deps: DeployDeps, stackName: string): Promise<Baseline> {
  return takeBaseline(await deps.engine.inspectStack(stackName));
}

/**
 * Refuses (SwarmStackNotOwnedError) a stack whose services are not labelled as this environment's, unless the
 * deployment adopts it: a stack made by hand or by another environment is never taken over silently.
 */
async function checkOwnership(deps: DeployDeps, req: DeployRequest): Promise<void> {
  const environmentId = req.labels[OWNERSHIP_LABELS.environment];
  if (environmentId === undefined) return;
  const foreign = (await deps.engine.listServices({ stack: req.stackName }))
    .filter((s) => s.labels[OWNERSHIP_LABELS.environment] !== environmentId)
    .map((s) => s.name)
    .sort();
  if (foreign.length === 0) return;
  if (!req.adopt) throw new SwarmStackNotOwnedError(req.stackName, foreign);
  deps.emit({
    level: "warn",
    message: `adopting Swarm stack ${req.stackName}: ${foreign.length} service(s) not labelled as this environment's (${foreign.join(", ")}) are taken over`,
    data: { adopt: true, services: foreign },
  });
}

/**
 * The images the converged stack runs, for exact rollbacks; a failed lookup costs the pins (the deployment still
 * succeeded, and a later deployment of its release then deploys the tags as written).
 */
async function captureImagePins(
  deps: DeployDeps,
  stackName: string,
  services: ServiceHealth[],
): Promise<DeployResult["images"]> {
  const { runningImageIds, inspectImage } = deps.engine;
  if (!runningImageIds || !inspectImage) return undefined;
  const lookup: ImageLookup = {
    runningImageIds: runningImageIds.bind(deps.engine),
    inspectImage: inspectImage.bind(deps.engine),
  };
  try {
    const images = await resolveImagePins(lookup, stackName, services);
    deps.emit({
      level: "info",
      message: `recorded the image of ${images.length} of ${services.length} service(s)`,
      data: { images: images.map((i) => ({ service: i.service, kind: i.kind, pinned: i.pinned })) },
    });
    return images;
  } catch (err) {
    deps.emit({ level: "warn", message: `could not record the services' images: ${describeFailure(err)}` });
    return undefined;
  }
}

async function cleanUpSecrets(deps: DeployDeps, req: DeployRequest): Promise<void> {
  try {
    await removeUnusedSecrets(deps.engine, req.stackName, new Set(req.secrets.map((s) => s.name)), deps.emit, {
      keepVersions: req.keepSecretVersions,
      environmentId: req.labels[OWNERSHIP_LABELS.environment] ?? null,
    });
  } catch (err) {
    // The deployment itself succeeded; stale secrets are retried after the next successful one.
    deps.emit({ level: "warn", message: `could not clean up unused secrets: ${describeFailure(err)}` });
  }
}

function describeFailure(err: unknown): string {
  if (err instanceof DockerCliError) {
    const detail = [...err.stderrTail].reverse().find((l) => l.trim() !== "");
    return detail ? `${err.message}: ${detail.trim()}` : err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * The compose's images whose image config declares a HEALTHCHECK, from this node's image store (an image not here
 * counts as without one: the wait then keeps its stabilisation period). A failed lookup only costs that shortcut.
 */
async function imagesWithHealthcheck(engine: DeployEngine, composeYaml: string): Promise<Set<string>> {
  const found = new Set<string>();
  if (!engine.imageHealthcheck) return found;
  for (const image of composeImages(composeYaml)) {
    if (await engine.imageHealthcheck(image).catch(() => false)) found.add(image);
  }
  return found;
}

/** What a failed rollout left on the swarm, from Swarm's update state of each service. */
function swarmNote(services: ServiceHealth[]): string {
  const paused = services.filter((s) => s.updateState === "paused" || s.updateState === "rollback_paused");
  const rolledBack = services.filter((s) => s.updateState === "rollback_completed");
  const parts: string[] = [];
  if (paused.length > 0)
    parts.push(
      `Swarm's update is paused for ${paused.map((s) => `${s.name} (${s.running}/${s.desired} running)`).join(", ")}`,
    );
  if (rolledBack.length > 0) parts.push(`Swarm rolled back ${rolledBack.map((s) => s.name).join(", ")}`);
  return parts.length > 0 ? parts.join("; ") : "the stack is left as deployed so far";
}

function pendingSummary(services: ServiceHealth[]): string {
  const waiting = services.filter((s) => !s.healthy);
  if (waiting.length === 0) return "";
  const parts = waiting.map((s) => `${s.name} ${s.running}/${s.desired}${s.lastError ? ` (${s.lastError})` : ""}`);
  return ` waiting for ${parts.join(", ")}`;
}

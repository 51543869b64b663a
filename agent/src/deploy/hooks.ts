/**
 * Release hooks (stackyard.yaml `pre_deploy` / `post_deploy`): a one-off task run as a Swarm job
 * (`replicated-job`, one completion) with a compose service's image, environment, secrets and networks, its output
 * streamed as deployment events while it runs (hook-output.ts) and its exit code deciding the deployment. The job service is removed afterwards,
 * whatever the outcome (failure, timeout, cancel).
 */
import { parse, type ScalarTag } from "yaml";
import type { DockerEngine, SwarmJobRunner, SwarmLogFollower, SwarmTask } from "../docker/engine.js";
import { HookFailedError, InvalidRequestError } from "./errors.js";
import { HOOK_OUTPUT_LIMITS, HookOutput } from "./hook-output.js";
import { parseImageRef } from "./image-preflight.js";
import type { Emit, RegistryLogin } from "./types.js";

export type HookPhase = "pre_deploy" | "post_deploy";

export interface DeployHook {
  phase: HookPhase;
  service: string;
  command: string[];
  timeoutSeconds: number;
}

export type HookEngine = Pick<DockerEngine, "listTasks" | "listSecrets" | "serviceLogs"> &
  SwarmJobRunner &
  SwarmLogFollower;

/** The label that marks a hook's job service (value: the phase), beside the ownership labels. */
export const HOOK_LABEL = "io.stackyard.hook";
/** Task states after which a job's task never runs again. */
const TERMINAL_TASK_STATES = new Set(["complete", "failed", "rejected", "shutdown", "orphaned", "remove"]);

interface ComposeService {
  image?: string;
  environment?: Record<string, string | number | boolean | null> | string[];
  secrets?: Array<string | { source: string; target?: string; uid?: string; gid?: string; mode?: number }>;
  networks?: string[] | Record<string, unknown>;
  user?: string;
  working_dir?: string;
}
interface ComposeFile {
  services?: Record<string, ComposeService | null>;
  secrets?: Record<string, { name?: string; external?: unknown } | null>;
  networks?: Record<string, { name?: string; external?: unknown } | null>;
}

/** What a hook's task runs with, read from the rendered compose file. */
export interface HookTaskInput {
  image: string;
  env: string[];
  /** Swarm secret name → the file name it is mounted as under /run/secrets. */
  secrets: Array<{ secretName: string; target: string; uid: string; gid: string; mode: number }>;
  /** Swarm network names of the service (`<stack>_default` for a service that names none). */
  networks: string[];
  user?: string;
  workingDir?: string;
}

/**
 * `docker stack deploy` reads plain integers as Go does: `0400` is octal (a secret's `mode: 0400` is 256), where
 * YAML 1.2 reads four hundred. The hook's secret mounts must match the service's.
 */
const GO_OCTAL: ScalarTag = {
  tag: "tag:yaml.org,2002:int",
  default: true,
  test: /^0_?[0-7]+(?:_[0-7]+)*$/,
  resolve: (text) => parseInt(text.replaceAll("_", ""), 8),
};

export function hookTaskInput(composeYaml: string, stack: string, serviceName: string): HookTaskInput {
  const doc = (parse(composeYaml, { customTags: (tags) => [GO_OCTAL, ...tags] }) ?? {}) as ComposeFile;
  const service = doc.services?.[serviceName];
  if (!service || typeof service.image !== "string") {
    throw new InvalidRequestError(`the hook's service ${serviceName} is not in the compose file, or has no image`);
  }
  const env = Array.isArray(service.environment)
    ? service.environment.filter((e) => e.includes("="))
    : Object.entries(service.environment ?? {})
        .filter(([, v]) => v !== null && v !== undefined)
        .map(([k, v]) => `${k}=${String(v)}`);
  const secrets = (service.secrets ?? []).map((mount) => {
    const m = typeof mount === "string" ? { source: mount } : mount;
    const declared = doc.secrets?.[m.source];
    const external =
      declared?.external === true || (declared?.external !== null && typeof declared?.external === "object");
    const secretName = declared?.name ?? (external ? m.source : `${stack}_${m.source}`);
    return { secretName, target: m.target ?? m.source, uid: m.uid ?? "0", gid: m.gid ?? "0", mode: m.mode ?? 0o444 };
  });
  const networkKeys = Array.isArray(service.networks)
    ? service.networks
    : service.networks
      ? Object.keys(service.networks)
      : ["default"];
  const networks = networkKeys.map((key) => {
    const declared = doc.networks?.[key];
    const external =
      declared?.external === true || (declared?.external !== null && typeof declared?.external === "object");
    return declared?.name ?? (external ? key : `${stack}_${key}`);
  });
  return {
    image: service.image,
    env,
    secrets,
    networks,
    ...(service.user ? { user: service.user } : {}),
    ...(service.working_dir ? { workingDir: service.working_dir } : {}),
  };
}

/** The job's Swarm service name: unique per deployment and phase, short enough for a DNS label. */
export function hookJobName(stack: string, phase: HookPhase, deploymentId: string): string {
  const suffix = `-hook-${phase === "pre_deploy" ? "pre" : "post"}-${deploymentId.replace(/-/g, "").slice(0, 8)}`;
  return `${stack.slice(0, 63 - suffix.length)}${suffix}`;
}

/**
 * The Engine API ServiceSpec of a hook's job. It carries the ownership labels but not the stack namespace label,
 * so `docker stack deploy --prune`, ownership checks and stack listings never see it.
 */
export function hookJobSpec(args: {
  name: string;
  hook: DeployHook;
  task: HookTaskInput;
  labels: Record<string, string>;
  secretIds: Map<string, string>;
  networkIds: Map<string, string>;
}): Record<string, unknown> {
  const { hook, task } = args;
  const labels = { ...args.labels, [HOOK_LABEL]: hook.phase };
  return {
    Name: args.name,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: task.image,
        // Exec form: replaces the image's entrypoint, as `command` in the manifest says.
        Command: hook.command,
        Env: task.env,
        Labels: labels,
        ...(task.user ? { User: task.user } : {}),
        ...(task.workingDir ? { Dir: task.workingDir } : {}),
        Secrets: task.secrets
          .filter((s) => args.secretIds.has(s.secretName))
          .map((s) => ({
            SecretID: args.secretIds.get(s.secretName),
            SecretName: s.secretName,
            File: { Name: s.target, UID: s.uid, GID: s.gid, Mode: s.mode },
          })),
      },
      RestartPolicy: { Condition: "none", MaxAttempts: 0 },
      Networks: task.networks.filter((n) => args.networkIds.has(n)).map((n) => ({ Target: args.networkIds.get(n) })),
    },
    Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
  };
}

export interface HookRunDeps {
  engine: HookEngine;
  emit: Emit;
  /** The deployment's signal (cancel, deploy timeout): the job is stopped and removed when it fires. */
  signal: AbortSignal;
  pollIntervalMs: number;
  now?: () => number;
}

export interface HookRequest {
  deploymentId: string;
  stackName: string;
  composeYaml: string;
  labels: Record<string, string>;
  registryLogins: RegistryLogin[];
}

/**
 * Runs one hook to its end. Resolves when it exited 0; throws HookFailedError when it did not, and returns
 * early (the caller reads its own signal) when the deployment was stopped. The job service is always removed.
 */
export async function runHook(req: HookRequest, hook: DeployHook, deps: HookRunDeps): Promise<void> {
  const { engine, emit } = deps;
  const now = deps.now ?? Date.now;
  const task = hookTaskInput(req.composeYaml, req.stackName, hook.service);
  const wanted = new Set(task.secrets.map((s) => s.secretName));
  const secretIds = new Map(
    (await engine.listSecrets()).filter((s) => wanted.has(s.name)).map((s) => [s.name, s.id] as const),
  );
  const missingSecrets = [...wanted].filter((n) => !secretIds.has(n));
  if (missingSecrets.length > 0) {
    throw new HookFailedError(`${hook.phase} hook: the secrets ${missingSecrets.join(", ")} do not exist on the swarm`);
  }
  const networkIds = await engine.networkIds(task.networks);
  const missingNetworks = task.networks.filter((n) => !networkIds.has(n));
  if (missingNetworks.length > 0) {
    // A first deploy: the stack's networks are made by `docker stack deploy`, after the pre_deploy hook.
    emit({
      level: "warn",
      message: `${hook.phase} hook runs without the networks ${missingNetworks.join(", ")}: they do not exist yet (first deploy of the stack)`,
      data: { source: "hook", phase: hook.phase, missingNetworks },
    });
  }
  const name = hookJobName(req.stackName, hook.phase, req.deploymentId);
  const spec = hookJobSpec({ name, hook, task, labels: req.labels, secretIds, networkIds });
  const login = req.registryLogins.find((l) => l.registry === parseImageRef(task.image).registry);
  const auth = login
    ? { username: login.username, password: login.password, serveraddress: login.registry }
    : undefined;

  const started = now();
  const serviceId = await engine.createJobService(spec, auth);
  emit({
    level: "info",
    message: `${hook.phase} hook: started job ${name} (service ${hook.service}, image ${task.image}, timeout ${hook.timeoutSeconds}s)`,
    data: {
      source: "hook",
      phase: hook.phase,
      job: name,
      service: hook.service,
      image: task.image,
      command: hook.command,
    },
  });
  const output = new HookOutput(hook.phase, emit);
  const stopFollow = new AbortController();
  const following = followOutput(
    engine,
    serviceId,
    output,
    AbortSignal.any([deps.signal, stopFollow.signal]),
    hook,
    emit,
  );
  try {
    const end = await waitForJob(engine, serviceId, hook.timeoutSeconds * 1000, deps);
    stopFollow.abort();
    await following;
    if (end === "aborted") return;
    await emitRest(engine, serviceId, hook, output, emit);
    const data = {
      source: "hook",
      phase: hook.phase,
      job: name,
      exitCode: end?.exitCode ?? null,
      taskState: end?.state ?? null,
      /** The task's last status change: when it ended. */
      taskEndedAt: end ? end.timestamp : null,
      elapsedMs: now() - started,
    };
    if (end === null) {
      emit({ level: "error", message: `${hook.phase} hook timed out after ${hook.timeoutSeconds}s`, data });
      throw new HookFailedError(`${hook.phase} hook timed out after ${hook.timeoutSeconds}s`);
    }
    if (end.state === "complete" && (end.exitCode ?? 0) === 0) {
      emit({ level: "info", message: `${hook.phase} hook succeeded (exit code 0)`, data });
      return;
    }
    const why =
      end.exitCode !== null && end.exitCode !== 0
        ? `exit code ${end.exitCode}`
        : `task ${end.state}${end.error ? `: ${end.error}` : end.message ? `: ${end.message}` : ""}`;
    emit({ level: "error", message: `${hook.phase} hook failed (${why})`, data });
    throw new HookFailedError(`${hook.phase} hook failed (${why})`);
  } finally {
    stopFollow.abort();
    await following;
    try {
      await engine.removeService(serviceId);
      emit({ level: "debug", message: `${hook.phase} hook: job ${name} removed`, data: { source: "hook", job: name } });
    } catch (err) {
      emit({
        level: "warn",
        message: `${hook.phase} hook: could not remove job ${name}: ${err instanceof Error ? err.message : String(err)}`,
        data: { source: "hook", job: name },
      });
    }
  }
}

/** The job's task once it ended; null at the hook's timeout; "aborted" when the deployment was stopped. */
async function waitForJob(
  engine: HookEngine,
  serviceId: string,
  timeoutMs: number,
  deps: HookRunDeps,
): Promise<SwarmTask | null | "aborted"> {
  const deadline = (deps.now ?? Date.now)() + timeoutMs;
  for (;;) {
    if (deps.signal.aborted) return "aborted";
    const tasks = await engine.listTasks({ serviceId });
    const done = tasks.find((t) => TERMINAL_TASK_STATES.has(t.state));
    if (done) return done;
    if ((deps.now ?? Date.now)() >= deadline) return null;
    await sleep(deps.pollIntervalMs, deps.signal);
  }
}

/**
 * Follows the job's logs while it runs, each line an event as it arrives; resolves when `signal` aborts or the
 * daemon ends the stream. A follow that fails costs only the live part: the output still comes when the job ends.
 */
async function followOutput(
  engine: HookEngine,
  serviceId: string,
  output: HookOutput,
  signal: AbortSignal,
  hook: DeployHook,
  emit: Emit,
): Promise<void> {
  try {
    await engine.followServiceLogs(
      serviceId,
      { tail: HOOK_OUTPUT_LIMITS.maxLines, maxLineBytes: HOOK_OUTPUT_LIMITS.maxLineBytes, signal },
      (line) => output.live(line),
    );
  } catch (err) {
    if (signal.aborted) return;
    emit({
      level: "warn",
      message: `${hook.phase} hook: its output cannot be followed live (it is reported when the hook ends): ${err instanceof Error ? err.message : String(err)}`,
      data: { source: "hook", phase: hook.phase },
    });
  }
}

/** Once the job ended: the output the live follow did not deliver, from one complete read of its logs. */
async function emitRest(
  engine: HookEngine,
  serviceId: string,
  hook: DeployHook,
  output: HookOutput,
  emit: Emit,
): Promise<void> {
  try {
    output.rest(
      await engine.serviceLogs(serviceId, { tail: HOOK_OUTPUT_LIMITS.maxLines, maxBytes: HOOK_OUTPUT_LIMITS.maxBytes }),
    );
  } catch (err) {
    emit({
      level: "warn",
      message: `${hook.phase} hook: its output could not be read: ${err instanceof Error ? err.message : String(err)}`,
    });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * BuildRelease and CancelBuild. A build outlives its command exactly like a deployment (deployments.ts): the reply
 * says `started`, the build runs in the background, and its output reaches the control plane as deployment events
 * on the build's id (numbered from `firstSeq`), the last one carrying the outcome and, on success, the pushed
 * digests in `data.images`. A build id runs at most once per agent process.
 */
import type { BuildRelease } from "../../../nats/protocol/messages.js";
import { SealError, open } from "../../../nats/protocol/sealing.js";
import type { AgentServices } from "../agent.js";
import type { CommandHandlers } from "../commands.js";
import type { BuildEngine } from "../build/docker-build.js";
import { checkoutCommit, type GitAuth } from "../build/git-checkout.js";
import { runBuild, type BuildDeps, type BuildResult } from "../build/run-build.js";
import { openRegistryLogins, SealKeyMissingError } from "../deploy/unseal.js";
import { DeploymentEventStream, type DeploymentEventInput } from "../events.js";
import type { Logger } from "../logger.js";
import { AgentStoppingError, HandlerError } from "./errors.js";
import { secretMasker } from "./deployments.js";
import type { DeploymentOutcome } from "../../../nats/protocol/messages.js";

const REMEMBERED_BUILDS = 10_000;

export interface BuildManagerDeps {
  engine: BuildEngine;
  services: AgentServices;
  /** Tests may replace the git checkout; production uses checkoutCommit. */
  checkout?: BuildDeps["checkout"];
}

interface RunningBuild {
  controller: AbortController;
  reason: string | null;
  shutdown: boolean;
}

/** The terminal event of a build: the outcome, and for a failure the code, service, step and output. */
export function buildTerminal(
  result: BuildResult,
  run: RunningBuild,
): { outcome: DeploymentOutcome; event: DeploymentEventInput } {
  const took = `${Math.round(result.elapsedMs / 100) / 10}s`;
  if (result.status === "SUCCEEDED") {
    return {
      outcome: "succeeded",
      event: {
        level: "info",
        message: `build succeeded: ${Object.keys(result.images).length} image(s) pushed in ${took}`,
        data: { status: "SUCCEEDED", images: result.images, elapsedMs: result.elapsedMs },
      },
    };
  }
  if (result.status === "CANCELED" && !run.shutdown) {
    return {
      outcome: "cancelled",
      event: {
        level: "warn",
        message: `build canceled${run.reason ? ` (${run.reason})` : ""}`,
        data: { status: "CANCELED", elapsedMs: result.elapsedMs },
      },
    };
  }
  const error = result.status === "FAILED" ? result.error : "the agent stopped during the build";
  return {
    outcome: "failed",
    event: {
      level: "error",
      message: `build failed: ${error}`,
      data: {
        status: "FAILED",
        error,
        code: result.status === "FAILED" ? result.code : "AGENT_STOPPED",
        ...(result.status === "FAILED" ? result.details : {}),
        elapsedMs: result.elapsedMs,
      },
    },
  };
}

export function openGitAuth(
  payload: Pick<BuildRelease, "buildId" | "gitAuth">,
  clusterId: string,
  services: AgentServices,
): GitAuth | null {
  if (payload.gitAuth === null) return null;
  if (!services.sealKeys) throw new SealKeyMissingError();
  let plain: Buffer;
  try {
    plain = open(payload.gitAuth, services.sealKeys, {
      clusterId,
      deploymentId: payload.buildId,
      kind: "git",
      name: "git",
    });
  } catch (err) {
    if (err instanceof SealError) throw new HandlerError(err.code, err.message);
    throw err;
  }
  try {
    return JSON.parse(plain.toString("utf8")) as GitAuth;
  } catch {
    throw new HandlerError("GIT_AUTH_INVALID", "the sealed git credential is not valid JSON");
  }
}

export class BuildManager {
  private readonly running = new Map<string, RunningBuild>();
  private readonly finished = new Set<string>();
  private readonly active = new Set<Promise<void>>();

  constructor(private readonly deps: BuildManagerDeps) {
    const { signal } = deps.services;
    const onStop = () => {
      for (const run of this.running.values()) {
        run.shutdown = true;
        run.controller.abort();
      }
    };
    if (signal.aborted) onStop();
    else signal.addEventListener("abort", onStop, { once: true });
  }

  start(payload: BuildRelease, log: Logger): "started" | "duplicate" {
    const id = payload.buildId;
    if (this.running.has(id) || this.finished.has(id)) return "duplicate";
    const { services } = this.deps;
    if (services.signal.aborted) throw new AgentStoppingError(`build ${id} was not started`);
    const gitAuth = openGitAuth(payload, services.clusterId, services);
    const registryLogins = openRegistryLogins(
      { deploymentId: id, registryAuth: payload.registryAuth },
      services.clusterId,
      services.sealKeys,
    );
    const run: RunningBuild = { controller: new AbortController(), reason: null, shutdown: false };
    this.running.set(id, run);
    const task = this.execute(payload, gitAuth, registryLogins, run, log.child({ buildId: id }));
    this.active.add(task);
    void task.finally(() => this.active.delete(task));
    return "started";
  }

  cancel(buildId: string, reason: string | null): boolean {
    const run = this.running.get(buildId);
    if (!run) return false;
    run.reason ??= reason;
    run.controller.abort();
    return true;
  }

  async drain(): Promise<void> {
    await Promise.allSettled([...this.active]);
  }

  private async execute(
    payload: BuildRelease,
    gitAuth: GitAuth | null,
    registryLogins: ReturnType<typeof openRegistryLogins>,
    run: RunningBuild,
    log: Logger,
  ): Promise<void> {
    const { services } = this.deps;
    const stream = new DeploymentEventStream({
      publish: services.publish,
      clusterId: services.clusterId,
      deploymentId: payload.buildId,
      firstSeq: payload.firstSeq,
      now: services.now,
      log,
    });
    const mask = secretMasker([
      ...(gitAuth?.https ? [gitAuth.https.token] : []),
      ...registryLogins.flatMap((l) => [l.password, Buffer.from(`${l.username}:${l.password}`).toString("base64")]),
    ]);
    log.info("build started", { services: payload.services.length });
    let result: BuildResult;
    try {
      result = await runBuild(
        {
          buildId: payload.buildId,
          repoUrl: payload.repoUrl,
          commit: payload.commit,
          gitAuth,
          services: payload.services,
          registryLogins,
          concurrency: payload.concurrency,
          timeoutSeconds: payload.timeoutSeconds,
        },
        {
          engine: this.deps.engine,
          checkout: this.deps.checkout ?? checkoutCommit,
          emit: (e) => stream.emit(mask(e)),
          signal: run.controller.signal,
          now: services.now,
        },
      );
    } catch (err) {
      log.error("build crashed", { err });
      result = {
        status: "FAILED",
        error: "the agent failed to run the build; see its log",
        code: "BUILD_FAILED",
        details: {},
        elapsedMs: 0,
      };
    }
    const terminal = buildTerminal(result, run);
    this.finished.add(payload.buildId);
    if (this.finished.size > REMEMBERED_BUILDS) {
      const oldest = this.finished.values().next();
      if (!oldest.done) this.finished.delete(oldest.value);
    }
    this.running.delete(payload.buildId);
    log.info("build ended", { status: result.status });
    await stream.finish(terminal.outcome, mask(terminal.event));
  }
}

export function createBuildHandlers(
  manager: BuildManager,
): Pick<Required<CommandHandlers>, "BuildRelease" | "CancelBuild"> {
  return {
    BuildRelease: async (payload, ctx) => ({ buildId: payload.buildId, status: manager.start(payload, ctx.log) }),
    CancelBuild: async (payload, ctx) => {
      const cancelled = manager.cancel(payload.buildId, payload.reason);
      ctx.log.info(cancelled ? "build cancel requested" : "cancel for a build not running here", {
        buildId: payload.buildId,
      });
      return { buildId: payload.buildId, cancelled };
    },
  };
}

/**
 * One build: fetch the commit, then build and push every service's image, at most `concurrency` at once (fan-out),
 * and report the pushed digests together (fan-in). The first failure stops the others; the result names the
 * service, the failing step (the builder's last `Step n/m : ...` line) and the output's last lines.
 */
import type { Readable } from "node:stream";
import type { BuildServicePayload } from "../../../nats/protocol/messages.js";
import type { DeployEvent, RegistryLogin } from "../deploy/types.js";
import { DockerStreamError, type BuildEngine } from "./docker-build.js";
import { BuildError } from "./errors.js";
import type { Checkout, GitAuth } from "./git-checkout.js";

export interface BuildRequest {
  buildId: string;
  repoUrl: string;
  commit: string;
  gitAuth: GitAuth | null;
  services: BuildServicePayload[];
  registryLogins: RegistryLogin[];
  concurrency: number;
  timeoutSeconds: number;
}

export interface BuildDeps {
  engine: BuildEngine;
  checkout: (repoUrl: string, commit: string, auth: GitAuth | null, signal: AbortSignal) => Promise<Checkout>;
  emit: (event: DeployEvent) => void;
  signal: AbortSignal;
  now: () => number;
}

export type BuildResult =
  | { status: "SUCCEEDED"; images: Record<string, string>; elapsedMs: number }
  | { status: "FAILED"; error: string; code: string; details: Record<string, unknown>; elapsedMs: number }
  | { status: "CANCELED"; error: string; elapsedMs: number };

/** Lines of a failed service's output the terminal event keeps (the compiler's message is among the last). */
export const FAILURE_OUTPUT_LINES = 40;
/** Output lines streamed per service; beyond it lines are counted, not sent (a runaway build cannot flood). */
export const MAX_STREAMED_LINES = 5_000;
const STEP = /^(?:Step \d+\/\d+ : |#\d+ \[)/;

export async function runBuild(req: BuildRequest, deps: BuildDeps): Promise<BuildResult> {
  const started = deps.now();
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  deps.signal.addEventListener("abort", onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, req.timeoutSeconds * 1000);
  const signal = controller.signal;
  const elapsed = () => deps.now() - started;
  let checkout: Checkout | null = null;
  try {
    deps.emit({ level: "info", message: `fetching commit ${req.commit} of ${req.repoUrl}`, data: { phase: "fetch" } });
    checkout = await deps.checkout(req.repoUrl, req.commit, req.gitAuth, signal);
    deps.emit({
      level: "info",
      message: `building ${req.services.length} service(s), ${Math.min(req.concurrency, req.services.length)} at a time`,
      data: { phase: "build", services: req.services.map((s) => s.service) },
    });
    const images: Record<string, string> = {};
    const queue = [...req.services];
    let firstFailure: { error: unknown } | null = null;
    const worker = async (co: Checkout) => {
      for (let s = queue.shift(); s && !signal.aborted; s = queue.shift()) {
        try {
          images[s.service] = await buildOne(s, co, req, deps, signal);
        } catch (err) {
          // The first failure decides the build and stops the services still building.
          firstFailure ??= { error: err };
          controller.abort();
        }
      }
    };
    const workers = Array.from({ length: Math.min(req.concurrency, req.services.length) }, () => worker(checkout!));
    await Promise.all(workers);
    if (firstFailure) throw (firstFailure as { error: unknown }).error;
    if (signal.aborted) throw new Error("aborted");
    return { status: "SUCCEEDED", images, elapsedMs: elapsed() };
  } catch (err) {
    if (timedOut) {
      return {
        status: "FAILED",
        error: `timed out after ${req.timeoutSeconds}s`,
        code: "BUILD_TIMED_OUT",
        details: {},
        elapsedMs: elapsed(),
      };
    }
    if (deps.signal.aborted)
      return { status: "CANCELED", error: "canceled: the build was stopped", elapsedMs: elapsed() };
    if (err instanceof BuildError) {
      return { status: "FAILED", error: err.message, code: err.code, details: err.details, elapsedMs: elapsed() };
    }
    return {
      status: "FAILED",
      error: `the build failed: ${(err as Error).message}`,
      code: "BUILD_FAILED",
      details: {},
      elapsedMs: elapsed(),
    };
  } finally {
    clearTimeout(timer);
    deps.signal.removeEventListener("abort", onAbort);
    await checkout?.close().catch(() => undefined);
  }
}

async function buildOne(
  s: BuildServicePayload,
  checkout: Checkout,
  req: BuildRequest,
  deps: BuildDeps,
  signal: AbortSignal,
): Promise<string> {
  await checkout.treeId(s.context);
  const tail: string[] = [];
  let step: string | null = null;
  let streamed = 0;
  const onLine = (line: string) => {
    if (STEP.test(line)) step = line;
    tail.push(line);
    if (tail.length > FAILURE_OUTPUT_LINES) tail.shift();
    if (++streamed <= MAX_STREAMED_LINES) {
      deps.emit({ level: "info", message: `[${s.service}] ${line}`, data: { service: s.service, phase: "build" } });
    }
  };
  deps.emit({
    level: "info",
    message: `[${s.service}] docker build ${s.context || "."} (${s.dockerfile}) → ${s.image}`,
    data: { service: s.service, phase: "build", image: s.image },
  });
  const context: Readable = checkout.archive(s.context, signal);
  try {
    await deps.engine.build(
      context,
      {
        image: s.image,
        dockerfile: s.dockerfile,
        args: s.args,
        target: s.target,
        labels: { "io.stackyard.build": req.buildId, "io.stackyard.commit": req.commit },
      },
      onLine,
      signal,
    );
  } catch (err) {
    if (signal.aborted) throw err;
    const message = err instanceof DockerStreamError ? err.message : (err as Error).message;
    const at = step ? `step "${String(step).replace(STEP, "").trim()}"` : "the build";
    throw new BuildError("BUILD_FAILED", `service ${s.service}: ${at} failed: ${message}`, {
      service: s.service,
      step,
      output: [...tail, message],
    });
  }
  if (streamed > MAX_STREAMED_LINES) {
    deps.emit({
      level: "warn",
      message: `[${s.service}] ${streamed - MAX_STREAMED_LINES} more output line(s) not streamed`,
      data: { service: s.service },
    });
  }
  const registry = s.image.split("/")[0] ?? "";
  const login = req.registryLogins.find((l) => l.registry === registry) ?? null;
  deps.emit({
    level: "info",
    message: `[${s.service}] pushing ${s.image}`,
    data: { service: s.service, phase: "push" },
  });
  let digest: string;
  try {
    digest = await deps.engine.push(s.image, login, () => undefined, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    throw new BuildError("PUSH_FAILED", `service ${s.service}: pushing ${s.image} failed: ${(err as Error).message}`, {
      service: s.service,
    });
  }
  const repository = s.image.slice(0, s.image.lastIndexOf(":"));
  const pinned = `${repository}@${digest}`;
  deps.emit({
    level: "info",
    message: `[${s.service}] pushed ${pinned}`,
    data: { service: s.service, phase: "push", image: pinned },
  });
  return pinned;
}

/**
 * The real side of the end-to-end suites (test/e2e and the browser deploy loop): the agent as a child process,
 * the docker CLI of this machine (a single-node Swarm manager) and the locally built test image.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../paths.js";
import { sleep, until } from "./wait.js";

const run = promisify(execFile);
const AGENT_MAIN = join(REPO_ROOT, "agent/src/main.ts");
const POLL_MS = 300;

export const TEST_IMAGE = "stackyard/busybox:test";

export async function docker(...args: string[]): Promise<string> {
  return (await run("docker", args, { timeout: 60_000 })).stdout.trim();
}

/** Builds stackyard/busybox:test (no registry is reachable) and checks that dockerd is a Swarm manager. */
export async function prepareSwarm(): Promise<void> {
  await run("bash", [join(REPO_ROOT, "scripts/build-test-image.sh")], { timeout: 170_000 });
  const swarm = await docker("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}");
  if (swarm !== "active true") throw new Error(`dockerd must be a Swarm manager for this suite (got "${swarm}")`);
}

/** A child process with its output kept for the failure message. */
export interface AgentProcess {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

/** Bundles the agent as the agent image runs it (scripts/build-agent.mjs) into `dir`; returns the file's path. */
export async function buildAgentBundle(dir: string): Promise<string> {
  const bundle = join(dir, "stackyard-agent.mjs");
  await run(process.execPath, [join(REPO_ROOT, "scripts", "build-agent.mjs"), bundle], { cwd: REPO_ROOT });
  return bundle;
}

/** `bundle`: the built agent (scripts/build-agent.mjs, as the agent image runs it) instead of its sources through tsx. */
export function spawnAgent(args: string[], env: Record<string, string>, opts: { bundle?: string } = {}): AgentProcess {
  const program = opts.bundle ? [opts.bundle] : ["--import", "tsx", AGENT_MAIN];
  const child = spawn(process.execPath, [...program, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (output.length > 500) output.splice(0, output.length - 500);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output, exited };
}

/**
 * Runs shell text as a user pastes it (`bash -c`, at the repository root) in a process group of its own, so that
 * stopping it reaches the agent it started. Only PATH, HOME and `env` are set.
 */
export function spawnShellText(text: string, env: Record<string, string>): AgentProcess {
  const child = spawn("bash", ["-c", text], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (output.length > 500) output.splice(0, output.length - 500);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output, exited };
}

/** SIGTERM to the whole process group of a spawnShellText, SIGKILL after 15 s. */
export async function stopShellText(shell: AgentProcess | null): Promise<void> {
  if (!shell?.child.pid || shell.child.exitCode !== null) return;
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-shell.child.pid!, name);
    } catch {
      // the group is gone already
    }
  };
  signal("SIGTERM");
  await Promise.race([shell.exited, sleep(15_000)]);
  if (shell.child.exitCode === null) signal("SIGKILL");
}

export async function stopAgent(agent: AgentProcess | null): Promise<void> {
  if (!agent || agent.child.exitCode !== null) return;
  agent.child.kill("SIGTERM");
  await Promise.race([agent.exited, sleep(15_000)]);
  if (agent.child.exitCode === null) agent.child.kill("SIGKILL");
}

/** `docker stack rm`, then waits until its services and networks are gone, and removes its secrets. */
export async function removeStack(stackName: string): Promise<void> {
  await docker("stack", "rm", stackName).catch(() => undefined);
  const label = `label=com.docker.stack.namespace=${stackName}`;
  await until(
    `stack ${stackName} to be removed`,
    async () => {
      const services = await docker("service", "ls", "-q", "--filter", label);
      const networks = await docker("network", "ls", "-q", "--filter", label);
      return services === "" && networks === "" ? true : undefined;
    },
    60_000,
    POLL_MS,
  );
  const secrets = (await docker("secret", "ls", "--format", "{{.Name}}").catch(() => ""))
    .split("\n")
    .filter((name) => name.startsWith(`${stackName}_`));
  for (const name of secrets) await docker("secret", "rm", name).catch(() => undefined);
}

/** A one-service stack on the test image; short stop grace and update monitor keep every rollout quick. */
export function testStackCompose(opts: {
  command: string[];
  replicas: number;
  env?: Record<string, string>;
  constraint?: string;
}): string {
  const env = opts.env
    ? `    environment:\n${Object.entries(opts.env)
        .map(([k, v]) => `      ${k}: "${v}"`)
        .join("\n")}\n`
    : "";
  const placement = opts.constraint ? `      placement:\n        constraints: ["${opts.constraint}"]\n` : "";
  // sleep as PID 1 ignores SIGTERM: a 1 s stop grace and a 1 s update monitor keep rollouts short.
  return `services:
  app:
    image: ${TEST_IMAGE}
    command: ${JSON.stringify(opts.command)}
${env}    stop_grace_period: 1s
    deploy:
      replicas: ${opts.replicas}
      update_config: { parallelism: 2, monitor: 1s }
      restart_policy: { condition: any, delay: 1s }
${placement}`;
}

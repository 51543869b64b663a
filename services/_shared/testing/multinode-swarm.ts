/**
 * The multi-node suite's Swarm: 1 manager + 2 workers, each a dockerd in a network namespace of its own, built
 * and removed by scripts/multinode-swarm.sh (never the host's dockerd, which only lends its test image).
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../paths.js";

const run = promisify(execFile);
const SCRIPT = join(REPO_ROOT, "scripts/multinode-swarm.sh");

export const MULTINODE_DIR = process.env.STACKYARD_MULTINODE_DIR ?? "/tmp/sy-mn";
export const MULTINODE_NODES = ["m", "w1", "w2"] as const;
export type MultinodeNode = (typeof MULTINODE_NODES)[number];
/** The hostname each node's dockerd runs under (its own UTS namespace), as Swarm reports it. */
export const hostnameOf = (node: MultinodeNode): string => `sy-mn-${node}`;
/** The only node with this label (set by the script). */
export const LABELLED_WORKER: MultinodeNode = "w2";
export const WORKER_LABEL = { key: "stackyard.test.disk", value: "ssd" } as const;

export const socketOf = (node: MultinodeNode): string => join(MULTINODE_DIR, node, "docker.sock");

async function script(args: string[], timeoutMs: number): Promise<string> {
  try {
    return (await run("bash", [SCRIPT, ...args], { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 })).stdout.trim();
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    const out = `${e.stdout ?? ""}${e.stderr ?? ""}`.trim();
    throw new Error(`multinode-swarm.sh ${args.join(" ")} failed (exit ${e.code ?? "?"}): ${out}`, { cause: err });
  }
}

/** Null when the harness can run here, else why not (no root, namespaces refused, …). */
export async function multinodeUnsupported(): Promise<string | null> {
  try {
    await run("bash", [SCRIPT, "check"], { timeout: 30_000 });
    return null;
  } catch (err) {
    const e = err as { stdout?: string; code?: number };
    if (e.code === 3) return (e.stdout ?? "").trim() || "network namespaces are not usable here";
    throw err;
  }
}

export const swarmUp = (images: string[]): Promise<string> => script(["up", ...images], 180_000);
export const swarmDown = (): Promise<string> => script(["down"], 180_000);
export const swarmLeftovers = (): Promise<string> => script(["leftovers"], 30_000);
/** SIGKILL of the node's dockerd and containerd: for Swarm, the node is lost. */
export const killDaemon = (node: MultinodeNode): Promise<string> => script(["stop-daemon", node], 30_000);
export const startDaemon = (node: MultinodeNode): Promise<string> => script(["start-daemon", node], 60_000);

/** The docker CLI against one node of the multi-node swarm. */
export async function dockerOn(node: MultinodeNode, ...args: string[]): Promise<string> {
  const { stdout } = await run("docker", ["-H", `unix://${socketOf(node)}`, ...args], { timeout: 60_000 });
  return stdout.trim();
}

/** Swarm's own view of a node, read on the manager: its status (ready, down…) and availability. */
export async function swarmNodeState(node: MultinodeNode): Promise<{ status: string; availability: string }> {
  const out = await dockerOn(
    "m",
    "node",
    "inspect",
    "--format",
    "{{.Status.State}} {{.Spec.Availability}}",
    hostnameOf(node),
  );
  const [status = "", availability = ""] = out.split(" ");
  return { status, availability };
}

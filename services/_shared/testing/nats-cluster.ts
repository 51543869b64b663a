/**
 * A real 3-node NATS cluster from our own template (nats/server.conf.template with its cluster block): one
 * installation (identity, CA and certificate in one temp dir), three `nats-server` processes on free loopback
 * ports, each with its own resolver and JetStream store, routed to the other two. Nodes can be SIGKILLed and
 * started again on the same ports and store, as an operator's restart would.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsIdentity } from "../../../nats/identity.js";
import { natsUrl, prepareNatsServer, spawnNatsServer, waitForServer } from "../../../nats/server.js";
import { DEFAULT_SERVER_HOSTS } from "../../../nats/tls.js";
import { freePort } from "./nats-server.js";

const START_TIMEOUT_MS = 30_000;
const HOST = "127.0.0.1";
export const TEST_CLUSTER_NAME = "stackyard-test";

export interface ClusterNode {
  name: string;
  url: string;
  monitorUrl: string;
  logFile: string;
  process: ChildProcess;
  running(): boolean;
  /** SIGKILL, as a crashed machine: no lame-duck mode, no leadership hand-over. */
  kill(): Promise<void>;
  /** Starts it again on the same ports, config and store. */
  start(): Promise<void>;
}

export interface TestNatsCluster {
  nodes: ClusterNode[];
  /** Every client URL, comma-separated, as NATS_URL takes them. */
  natsUrl: string;
  caFile: string;
  caPem: string;
  dir: string;
  identity: NatsIdentity;
  controlPlaneCredsFile: string;
  systemCredsFile: string;
  identityFile: string;
  /** Resolves once every node reports the same JetStream meta leader and all peers current. */
  waitForMetaLeader(timeoutMs: number): Promise<string>;
  stop(): Promise<void>;
}

interface JszMeta {
  meta_cluster?: { leader?: string; replicas?: Array<{ current?: boolean; offline?: boolean }> };
}

async function jsz(monitorUrl: string): Promise<JszMeta | undefined> {
  try {
    const res = await fetch(`${monitorUrl}/jsz`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? ((await res.json()) as JszMeta) : undefined;
  } catch {
    return undefined;
  }
}

export async function startTestNatsCluster(size = 3): Promise<TestNatsCluster> {
  const dir = await mkdtemp(join(tmpdir(), "stackyard-nats-cluster-"));
  const specs = [];
  for (let i = 0; i < size; i++) {
    specs.push({
      name: `n${i + 1}`,
      ports: {
        client: await freePort(),
        websocket: await freePort(),
        leafnode: await freePort(),
        monitor: await freePort(),
      },
      route: await freePort(),
    });
  }
  const routes = specs.map((s) => `tls://${HOST}:${s.route}`);
  const nodes: ClusterNode[] = [];
  let first: Awaited<ReturnType<typeof prepareNatsServer>> | undefined;
  // One at a time: the nodes share the identity and TLS files the first one creates.
  for (const spec of specs) {
    const prepared = await prepareNatsServer(dir, HOST, spec.ports, DEFAULT_SERVER_HOSTS, {
      serverName: spec.name,
      dataDir: join(dir, spec.name),
      cluster: {
        name: TEST_CLUSTER_NAME,
        port: spec.route,
        routes: routes.filter((r) => !r.endsWith(`:${spec.route}`)),
      },
    });
    first ??= prepared;
    const logFile = join(dir, `${spec.name}.log`);
    let child: ChildProcess | null = null;
    const node: ClusterNode = {
      name: spec.name,
      url: natsUrl(HOST, spec.ports.client),
      monitorUrl: `http://${HOST}:${spec.ports.monitor}`,
      logFile,
      get process() {
        if (!child) throw new Error(`${spec.name} was never started`);
        return child;
      },
      running: () => child !== null && child.exitCode === null && child.signalCode === null,
      async kill() {
        if (!node.running() || !child) return;
        const exited = new Promise((r) => child!.once("exit", r));
        child.kill("SIGKILL");
        await exited;
      },
      async start() {
        child = await spawnNatsServer(prepared.configFile, { detached: false, logFile });
        await waitForServer(child, HOST, spec.ports.client, { timeoutMs: START_TIMEOUT_MS, logFile });
      },
    };
    nodes.push(node);
  }
  await Promise.all(nodes.map((n) => n.start()));
  const prepared = first!;
  const cluster: TestNatsCluster = {
    nodes,
    natsUrl: nodes.map((n) => n.url).join(","),
    caFile: prepared.tls.caFile,
    caPem: await readFile(prepared.tls.caFile, "utf8"),
    dir,
    identity: prepared.identity,
    controlPlaneCredsFile: prepared.files.controlPlaneCredsFile,
    systemCredsFile: prepared.files.systemCredsFile,
    identityFile: prepared.files.identityFile,
    async waitForMetaLeader(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const views = await Promise.all(nodes.filter((n) => n.running()).map((n) => jsz(n.monitorUrl)));
        const leaders = new Set(views.map((v) => v?.meta_cluster?.leader ?? ""));
        const leader = [...leaders][0];
        if (leaders.size === 1 && leader) return leader;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`no JetStream meta leader agreed on by every running node after ${timeoutMs} ms`);
    },
    async stop() {
      for (const n of nodes) await n.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

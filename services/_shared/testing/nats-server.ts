/** A real nats-server per test suite, from our own template, on free loopback ports in a temp dir. */
import type { ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsIdentity } from "../../../nats/identity.js";
import {
  NatsServerExitedError,
  natsUrl,
  prepareNatsServer,
  spawnNatsServer,
  waitForServer,
  type PreparedNatsServer,
} from "../../../nats/server.js";

/** Generous: a loaded 2-core CI machine once took over 10 s to start one (the server itself needs ~50 ms). */
const START_TIMEOUT_MS = 30_000;
const START_ATTEMPTS = 3;

export interface TestNatsServer {
  /** `tls://127.0.0.1:<port>`: every listener requires TLS with a certificate of this server's own CA. */
  url: string;
  leafUrl: string;
  /** The websocket listener (`wss://`, same certificate): what the gateway's live proxy forwards browsers to. */
  wsUrl: string;
  monitorUrl: string;
  /** The CA that signed this server's certificate (a fresh one per server). */
  caFile: string;
  /** Its PEM, as registration hands it to agents. */
  caPem: string;
  /** Connection options trusting that CA: `connect({ servers: server.url, tls: server.tls, ... })`. */
  tls: { caFile: string };
  dir: string;
  identity: NatsIdentity;
  controlPlaneCredsFile: string;
  systemCredsFile: string;
  identityFile: string;
  process: ChildProcess;
  /**
   * Stops and starts the server on the same ports and config. `freshResolver` empties its account-JWT store
   * first, as a lost or replaced volume would: only the JWTs preloaded from the config remain.
   */
  restart(opts?: { freshResolver?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Free ports are chosen before the server binds them, so another process may take one in between: the server then
 * exits at once, and we try again on other ports.
 */
async function startOnFreePorts(
  dir: string,
  host: string,
  logFile: string,
  opts: TestNatsServerOptions,
): Promise<{ prepared: PreparedNatsServer; child: ChildProcess }> {
  for (let attempt = 1; ; attempt++) {
    const ports = {
      client: await freePort(),
      websocket: await freePort(),
      leafnode: await freePort(),
      monitor: await freePort(),
    };
    const prepared = await prepareNatsServer(dir, host, ports, undefined, opts);
    const child = await spawnNatsServer(prepared.configFile, { detached: false, logFile });
    try {
      await waitForServer(child, host, ports.client, { timeoutMs: START_TIMEOUT_MS, logFile });
      return { prepared, child };
    } catch (err) {
      child.kill("SIGKILL");
      if (!(err instanceof NatsServerExitedError) || attempt >= START_ATTEMPTS) throw err;
    }
  }
}

export interface TestNatsServerOptions {
  /** What the hub tells leaf nodes to reconnect to, e.g. a relay standing in for the WAN (agent/src/testing/wan.ts). */
  leafnodeAdvertise?: string;
}

export async function startTestNatsServer(opts: TestNatsServerOptions = {}): Promise<TestNatsServer> {
  const dir = await mkdtemp(join(tmpdir(), "stackyard-nats-"));
  const host = "127.0.0.1";
  const logFile = join(dir, "nats-server.log");
  const first = await startOnFreePorts(dir, host, logFile, opts);
  const prepared = first.prepared;
  let child = first.child;
  const { ports } = prepared;
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
  };
  const server: TestNatsServer = {
    url: natsUrl(host, ports.client),
    leafUrl: `tls://${host}:${ports.leafnode}`,
    wsUrl: `wss://${host}:${ports.websocket}`,
    monitorUrl: `http://${host}:${ports.monitor}`,
    caFile: prepared.tls.caFile,
    caPem: await readFile(prepared.tls.caFile, "utf8"),
    tls: { caFile: prepared.tls.caFile },
    dir,
    identity: prepared.identity,
    controlPlaneCredsFile: prepared.files.controlPlaneCredsFile,
    systemCredsFile: prepared.files.systemCredsFile,
    identityFile: prepared.files.identityFile,
    process: child,
    async restart(opts = {}) {
      await kill();
      if (opts.freshResolver) {
        const resolverDir = join(dir, "resolver");
        await rm(resolverDir, { recursive: true, force: true });
        await mkdir(resolverDir, { recursive: true, mode: 0o700 });
      }
      child = await spawnNatsServer(prepared.configFile, { detached: false, logFile });
      server.process = child;
      await waitForServer(child, host, ports.client, { timeoutMs: START_TIMEOUT_MS, logFile });
    },
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** Preparing and launching our nats-server from the template: used by scripts/nats.ts (dev) and test helpers. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, open, readFile, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { join } from "node:path";
import {
  loadOrCreateNatsIdentity,
  natsStateFiles,
  renderServerConfig,
  type ClusterOptions,
  type NatsIdentity,
  type NatsServerPorts,
  type NatsStateFiles,
} from "./identity.js";
import { DEFAULT_SERVER_HOSTS, ensureNatsTls, type NatsTlsFiles } from "./tls.js";

export interface PreparedNatsServer {
  identity: NatsIdentity;
  files: NatsStateFiles;
  configFile: string;
  host: string;
  ports: NatsServerPorts;
  tls: NatsTlsFiles;
}

export interface NodeOptions {
  /** Unique per node of a cluster (JetStream's placement names it); default `stackyard-<client port>`. */
  serverName?: string;
  /**
   * Where this node keeps its resolver, JetStream store and rendered config; default `dir`. The nodes of one
   * cluster share `dir` (identity and TLS: one installation) and each has its own data directory.
   */
  dataDir?: string;
  cluster?: ClusterOptions;
  /** `host:port` the hub advertises to leaf nodes (behind NAT or a load balancer). */
  leafnodeAdvertise?: string;
}

export async function prepareNatsServer(
  dir: string,
  host: string,
  ports: NatsServerPorts,
  tlsHosts: readonly string[] = DEFAULT_SERVER_HOSTS,
  node: NodeOptions = {},
): Promise<PreparedNatsServer> {
  const identity = await loadOrCreateNatsIdentity(dir);
  const tls = await ensureNatsTls(dir, tlsHosts);
  const dataDir = node.dataDir ?? dir;
  const resolverDir = join(dataDir, "resolver");
  const jetstreamDir = join(dataDir, "jetstream");
  await mkdir(resolverDir, { recursive: true, mode: 0o700 });
  await mkdir(jetstreamDir, { recursive: true, mode: 0o700 });
  const configFile = join(dataDir, "server.conf");
  const config = await renderServerConfig(identity, {
    serverName: node.serverName ?? `stackyard-${ports.client}`,
    host,
    ports,
    resolverDir,
    jetstreamDir,
    tls: { certFile: tls.certFile, keyFile: tls.keyFile, caFile: tls.caFile },
    ...(node.leafnodeAdvertise ? { leafnodeAdvertise: node.leafnodeAdvertise } : {}),
    ...(node.cluster ? { cluster: node.cluster } : {}),
  });
  await writeFile(configFile, config, { mode: 0o600 });
  return { identity, files: natsStateFiles(dir), configFile, host, ports, tls };
}

export const NATS_SERVER_BINARY = "nats-server";

export async function spawnNatsServer(
  configFile: string,
  opts: { detached: boolean; logFile: string },
): Promise<ChildProcess> {
  const log = await open(opts.logFile, "a");
  const child = spawn(NATS_SERVER_BINARY, ["-c", configFile], {
    detached: opts.detached,
    stdio: ["ignore", log.fd, log.fd],
  });
  await log.close();
  if (opts.detached) child.unref();
  return child;
}

export function isPortOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export async function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isPortOpen(host, port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
}

/**
 * Waits until `child` listens on host:port. Fails at once, with the end of its log, when the process exits first
 * (a port taken between choosing it and binding it, a bad config), instead of waiting out the whole bound.
 */
export async function waitForServer(
  child: ChildProcess,
  host: string,
  port: number,
  opts: { timeoutMs: number; logFile: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = await readFile(opts.logFile, "utf8").then(
        (text) => text.trim().split("\n").slice(-3).join(" | "),
        () => "",
      );
      throw new NatsServerExitedError(
        `nats-server exited (${child.exitCode ?? child.signalCode}) before listening on ${host}:${port}: ${tail}`,
      );
    }
    if (await isPortOpen(host, port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${host}:${port} after ${opts.timeoutMs} ms`);
}

export class NatsServerExitedError extends Error {
  readonly code = "NATS_SERVER_EXITED";
}

/** Our server requires TLS on every listener, so its URLs say so. */
export const natsUrl = (host: string, port: number): string => `tls://${host}:${port}`;

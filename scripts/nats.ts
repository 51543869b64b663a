/**
 * Our development NATS server: `start` (bootstrap the operator/accounts once, render the config, launch
 * nats-server in the background unless it already runs), `stop`, and `env` (print the exports for .state/env.sh).
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { connect, credsAuthenticator } from "nats";
import { natsStateFiles } from "../nats/identity.js";
import {
  isPortOpen,
  natsUrl,
  prepareNatsServer,
  spawnNatsServer,
  waitForPort,
  type NodeOptions,
} from "../nats/server.js";
import { DEFAULT_SERVER_HOSTS, natsTlsFiles } from "../nats/tls.js";

const root = resolve(import.meta.dirname, "..");
const stateDir = process.env.STACKYARD_STATE_DIR ?? join(root, ".state");
const natsDir = join(stateDir, "nats");
// Loopback unless told otherwise (containers bind 0.0.0.0 inside their own network namespace).
const host = process.env.STACKYARD_NATS_HOST ?? "127.0.0.1";
const ports = {
  client: Number(process.env.STACKYARD_NATS_PORT ?? 14222),
  websocket: Number(process.env.STACKYARD_NATS_WS_PORT ?? 14280),
  leafnode: Number(process.env.STACKYARD_NATS_LEAF_PORT ?? 17422),
  monitor: Number(process.env.STACKYARD_NATS_MONITOR_PORT ?? 18222),
};
// Names the server certificate is valid for, beyond loopback and the compose service name `nats`.
const tlsHosts = [
  ...DEFAULT_SERVER_HOSTS,
  ...(process.env.STACKYARD_NATS_TLS_HOSTS ?? "")
    .split(",")
    .map((h) => h.trim())
    .filter(Boolean),
];
// The public host:port leaf nodes are told to reconnect to, when the leafnode listener sits behind NAT or a balancer.
const leafnodeAdvertise = process.env.STACKYARD_NATS_LEAF_ADVERTISE?.trim() || undefined;
const serverOptions = leafnodeAdvertise ? { leafnodeAdvertise } : {};
const pidFile = join(natsDir, "nats-server.pid");

async function start(): Promise<void> {
  const prepared = await prepareNatsServer(natsDir, host, ports, tlsHosts, serverOptions);
  if (await isPortOpen(host, ports.client)) {
    // Reuse it only if it is ours: our control-plane creds must be accepted.
    try {
      const nc = await connect({
        servers: natsUrl(host, ports.client),
        authenticator: credsAuthenticator(await readFile(prepared.files.controlPlaneCredsFile)),
        tls: { caFile: prepared.tls.caFile },
        reconnect: false,
        timeout: 3000,
      });
      await nc.close();
    } catch (err) {
      console.error(
        `[stackyard] ${host}:${ports.client} is taken by a nats-server that does not accept this checkout's credentials (${String(err)}).` +
          " Stop it, or choose other ports with STACKYARD_NATS_PORT / STACKYARD_NATS_WS_PORT / STACKYARD_NATS_LEAF_PORT / STACKYARD_NATS_MONITOR_PORT.",
      );
      process.exit(1);
    }
    console.error(`[stackyard] reusing our nats-server on ${host}:${ports.client}`);
    return;
  }
  const child = await spawnNatsServer(prepared.configFile, {
    detached: true,
    logFile: join(natsDir, "nats-server.log"),
  });
  await writeFile(pidFile, String(child.pid));
  await waitForPort(host, ports.client, 10_000);
  console.error(`[stackyard] nats-server started on ${natsUrl(host, ports.client)} (pid ${child.pid})`);
}

async function stop(): Promise<void> {
  try {
    const pid = Number(await readFile(pidFile, "utf8"));
    process.kill(pid, "SIGTERM");
    await rm(pidFile);
    console.error(`[stackyard] nats-server (pid ${pid}) stopped`);
  } catch {
    console.error("[stackyard] no nats-server of ours is running");
  }
}

function env(): void {
  const files = natsStateFiles(natsDir);
  console.log(`export NATS_URL="${natsUrl(host, ports.client)}"`);
  console.log(`export NATS_TLS_CA_FILE="${natsTlsFiles(natsDir).caFile}"`);
  console.log(`export NATS_CREDS="${files.controlPlaneCredsFile}"`);
  console.log(`export NATS_SYSTEM_CREDS="${files.systemCredsFile}"`);
  console.log(`export NATS_IDENTITY_FILE="${files.identityFile}"`);
  console.log(`export NATS_WS_URL="wss://${host}:${ports.websocket}"`);
  console.log(`export NATS_LEAF_URL="tls://${host}:${ports.leafnode}"`);
}

/**
 * A node of a NATS cluster (docker-compose.ha.yml): STACKYARD_NATS_SERVER_NAME (unique), STACKYARD_NATS_CLUSTER_NAME,
 * STACKYARD_NATS_CLUSTER_PORT and STACKYARD_NATS_ROUTES (the peers' `tls://host:port`, comma-separated). Its
 * resolver, JetStream store and config go to `<nats dir>/<server name>/`; identity and TLS stay shared.
 */
function clusterNode(): NodeOptions {
  const serverName = process.env.STACKYARD_NATS_SERVER_NAME?.trim();
  const clusterName = process.env.STACKYARD_NATS_CLUSTER_NAME?.trim();
  if (!serverName || !clusterName) return {};
  const routes = (process.env.STACKYARD_NATS_ROUTES ?? "")
    .split(",")
    .map((r) => r.trim())
    .filter(Boolean);
  return {
    serverName,
    dataDir: join(natsDir, serverName),
    cluster: { name: clusterName, port: Number(process.env.STACKYARD_NATS_CLUSTER_PORT ?? 16222), routes },
  };
}

async function prepare(): Promise<void> {
  const prepared = await prepareNatsServer(natsDir, host, ports, tlsHosts, { ...serverOptions, ...clusterNode() });
  console.error(`[stackyard] nats config written to ${prepared.configFile}`);
}

const command = process.argv[2];
if (command === "start") await start();
else if (command === "prepare") await prepare();
else if (command === "stop") await stop();
else if (command === "env") env();
else {
  console.error("usage: scripts/nats.ts start|prepare|stop|env");
  process.exit(2);
}

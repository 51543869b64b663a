/**
 * The fleet simulator, a process of its own (so its CPU is never counted as the control plane's): N agents, each
 * registered through the real API (a cluster created by the org admin, its registration token spent by the agent
 * with a fresh NKey) and then connected to NATS on a connection of its own with its own JWT, as production agents
 * are. Every agent subscribes to its command subject, heartbeats every 10 s and sends its inventory every 60 s
 * (both with a random phase, as agents started at different times have), and once at connect, as the real agent
 * does. The parent drives it over IPC: `ramp`, `stop <n>` (connections dropped without a goodbye, as a crash or a
 * lost network does), `storm` (every agent disconnects and reconnects at the same moment), `exit`.
 */
import { connect, type NatsConnection } from "nats";
import { createUser } from "nkeys.js";
import { hostname as osHostname } from "node:os";
import { inventoryHash } from "../../agent/src/inventory.js";
import { RECONNECT_INITIAL_MS, RECONNECT_MAX_MS } from "../../agent/src/link.js";
import { createBackoff } from "../../agent/src/schedule.js";
import type { DockerFacts, Heartbeat, Inventory, InventoryNode } from "../../nats/protocol/messages.js";
import { nativeJwtAuthenticator } from "../../nats/fast-signer.js";
import { agentInboxPrefix, agentSubjects, commandWildcard } from "../../nats/protocol/subjects.js";
import { TEST_AGENT_DOCKER_INFO } from "../../services/_shared/testing/fixtures.js";

export const HEARTBEAT_MS = 10_000;
export const INVENTORY_MS = 60_000;

export type SimulatorCommand =
  | { cmd: "ramp"; count: number; concurrency: number }
  | { cmd: "stop"; count: number }
  | { cmd: "storm" }
  | { cmd: "exit" };

export type SimulatorReport =
  | { event: "ramped"; count: number; registerMs: number; connectMs: number; failures: number }
  | { event: "stopped"; clusterIds: string[]; at: number }
  | { event: "stormed"; count: number; reconnectMs: number; failures: number; firstError: string; startedAt: number }
  | { event: "error"; message: string };

interface SimAgent {
  clusterId: string;
  seed: Uint8Array;
  jwt: string;
  nc: NatsConnection | null;
  timers: NodeJS.Timeout[];
  startedAt: number;
  inventory: Inventory;
}

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`simulator: ${name} is not set`);
  return v;
};
const API_URL = env("SIM_API_URL");
const NATS_URL = env("SIM_NATS_URL");
const ORG_ID = env("SIM_ORG_ID");
const ADMIN_EMAIL = env("SIM_ADMIN_EMAIL");
const ADMIN_PASSWORD = env("SIM_ADMIN_PASSWORD");
const NATS_CA = process.env.SIM_NATS_CA ?? "";

const enc = new TextEncoder();
const DOCKER: DockerFacts = { ...TEST_AGENT_DOCKER_INFO, swarmState: "active" };
const agents: SimAgent[] = [];
const send = (report: SimulatorReport): void => void process.send!(report);

/**
 * The admin's access token, for creating clusters. It lives 15 minutes and a slow ramp takes longer: on a 401 the
 * simulator logs in again (once for all the requests that saw it).
 */
let current = "";
let inflight: Promise<string> | null = null;
async function login(): Promise<string> {
  const res = await fetch(`${API_URL}/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD, orgId: ORG_ID }),
  });
  if (res.status !== 200) throw new Error(`login: ${res.status} ${await res.text()}`);
  return `Bearer ${((await res.json()) as { accessToken: string }).accessToken}`;
}
/** The current token; `stale` (one that was refused) makes it log in again, unless someone already did. */
async function adminAuthorization(stale?: string): Promise<string> {
  if (inflight) return inflight;
  if (current && current !== stale) return current;
  inflight = login()
    .then((token) => (current = token))
    .finally(() => (inflight = null));
  return inflight;
}

async function post<T>(path: string, body: unknown, asAdmin = false): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const auth = asAdmin ? await adminAuthorization() : undefined;
    const res = await fetch(API_URL + path, {
      method: "POST",
      headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
      body: JSON.stringify(body),
    }).catch((err: unknown) => {
      if (attempt >= 5) throw err;
      return null;
    });
    if (res?.status === 401 && auth !== undefined && attempt < 5) {
      await res.text();
      await adminAuthorization(auth);
      continue;
    }
    if (res && res.status < 500 && res.status !== 429) {
      const text = await res.text();
      if (res.status >= 300) throw new Error(`POST ${path}: ${res.status} ${text}`);
      return JSON.parse(text) as T;
    }
    if (attempt >= 5) throw new Error(`POST ${path}: ${res?.status ?? "no answer"}`);
    await new Promise((r) => setTimeout(r, 200 * attempt));
  }
}

/** Runs `work(i)` for i in [0, count) with at most `concurrency` at a time. */
async function bounded(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  let failures = 0;
  let lastError = "";
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        await work(i).catch((err: unknown) => {
          failures++;
          lastError = err instanceof Error ? err.message : String(err);
        });
      }
    }),
  );
  if (failures > 0) send({ event: "error", message: `${failures} of ${count} failed; last: ${lastError}` });
  return failures;
}

function inventoryFor(clusterId: string, index: number): Inventory {
  const node: InventoryNode = {
    id: `node-${index}`,
    hostname: `sim-${index}`,
    role: "manager",
    availability: "active",
    status: "ready",
    labels: {},
    nanoCpus: 2_000_000_000,
    memoryBytes: 4 * 1024 ** 3,
    engineVersion: "27.0.0",
    address: "10.0.0.1",
  };
  const content = { nodes: [node], services: [], stacks: [] };
  return { clusterId, collectedAt: Date.now(), hash: inventoryHash(content), ...content };
}

async function register(index: number): Promise<SimAgent> {
  const created = await post<{ cluster: { id: string }; registrationToken: string }>(
    `/v1/orgs/${ORG_ID}/clusters`,
    { name: `sim-${index}-${osHostname().slice(0, 8)}` },
    true,
  );
  const key = createUser();
  const reg = await post<{ clusterId: string; jwt: string }>("/v1/agent/register", {
    token: created.registrationToken,
    publicKey: key.getPublicKey(),
    hostname: `sim-${index}`,
    agentVersion: "0.0.0-bench",
    docker: TEST_AGENT_DOCKER_INFO,
  });
  return {
    clusterId: reg.clusterId,
    seed: key.getSeed(),
    jwt: reg.jwt,
    nc: null,
    timers: [],
    startedAt: Date.now(),
    inventory: inventoryFor(reg.clusterId, index),
  };
}

function heartbeat(agent: SimAgent): Heartbeat {
  const sentAt = Date.now();
  return {
    clusterId: agent.clusterId,
    agentVersion: "0.0.0-bench",
    hostname: agent.inventory.nodes[0]!.hostname,
    sentAt,
    startedAt: agent.startedAt,
    uptimeSeconds: Math.floor((sentAt - agent.startedAt) / 1000),
    docker: DOCKER,
    dockerError: null,
    inventoryHash: agent.inventory.hash,
    natsMode: "direct",
  };
}

async function bringUp(agent: SimAgent): Promise<void> {
  const nc = await connect({
    servers: NATS_URL,
    ...(NATS_CA ? { tls: { ca: NATS_CA } } : {}),
    authenticator: nativeJwtAuthenticator(agent.jwt, agent.seed),
    inboxPrefix: agentInboxPrefix(agent.clusterId),
    // Reconnects are what the parent orders (the storm), never the client library's own.
    reconnect: false,
    // The real agent's handshake budget (agent/src/link.ts linkConnectionOptions).
    timeout: 10_000,
  });
  agent.nc = nc;
  // Commands are not part of this bench; the subscription is, as every agent holds one.
  nc.subscribe(commandWildcard(agent.clusterId), { callback: () => undefined });
  const subjects = agentSubjects(agent.clusterId);
  const beat = () => nc.publish(subjects.heartbeat, enc.encode(JSON.stringify(heartbeat(agent))));
  const sendInventory = () => {
    agent.inventory.collectedAt = Date.now();
    nc.publish(subjects.inventory, enc.encode(JSON.stringify(agent.inventory)));
  };
  beat();
  sendInventory();
  agent.timers.push(
    setTimeout(() => {
      beat();
      agent.timers.push(setInterval(beat, HEARTBEAT_MS));
    }, Math.random() * HEARTBEAT_MS),
    setTimeout(() => {
      sendInventory();
      agent.timers.push(setInterval(sendInventory, INVENTORY_MS));
    }, Math.random() * INVENTORY_MS),
  );
}

/**
 * Connects like the real agent: a refused or timed-out handshake (the server's TLS timeout is 2 s, which a
 * starved machine misses) is tried again after a jittered backoff, up to a minute in all.
 */
async function bringUpWithRetry(agent: SimAgent): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await bringUp(agent);
    } catch (err) {
      if (attempt >= 12) throw err;
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** attempt) * (0.5 + Math.random())));
    }
  }
}

/**
 * After a drop the real agent redials with its link's backoff (agent/src/link.ts: full jitter from
 * RECONNECT_INITIAL_MS, doubling up to RECONNECT_MAX_MS), which is what spreads a storm: every agent dialling again
 * at the same instant, round after round, is not what a fleet does and only measures one process's TLS handshakes.
 * Gives up after STORM_GIVE_UP_MS so the bench always ends.
 */
const STORM_GIVE_UP_MS = 240_000;
async function reconnectLikeTheAgent(agent: SimAgent, failures: { count: number; first: string }): Promise<void> {
  const backoff = createBackoff({ initialMs: RECONNECT_INITIAL_MS, maxMs: RECONNECT_MAX_MS });
  const deadline = Date.now() + STORM_GIVE_UP_MS;
  for (;;) {
    await new Promise((r) => setTimeout(r, backoff.next()));
    try {
      return await bringUp(agent);
    } catch (err) {
      failures.count++;
      failures.first ||= err instanceof Error ? err.message : String(err);
      if (Date.now() >= deadline) return;
    }
  }
}

async function bringDown(agent: SimAgent): Promise<void> {
  for (const t of agent.timers) clearTimeout(t);
  agent.timers = [];
  const nc = agent.nc;
  agent.nc = null;
  // No goodbye: to the control plane this is an agent that vanished.
  if (nc && !nc.isClosed()) await nc.close();
}

async function ramp(count: number, concurrency: number): Promise<void> {
  const started = performance.now();
  const registered: Array<SimAgent | undefined> = new Array(count);
  const failures = await bounded(count, concurrency, async (i) => {
    registered[i] = await register(agents.length + i);
  });
  const registerMs = performance.now() - started;
  const fresh = registered.filter((a): a is SimAgent => a !== undefined);
  agents.push(...fresh);
  const connecting = performance.now();
  const connectFailures = await bounded(fresh.length, concurrency, (i) => bringUpWithRetry(fresh[i]!));
  send({
    event: "ramped",
    count: fresh.length,
    registerMs,
    connectMs: performance.now() - connecting,
    failures: failures + connectFailures,
  });
}

process.on("message", (message: SimulatorCommand) => {
  void (async () => {
    try {
      if (message.cmd === "ramp") await ramp(message.count, message.concurrency);
      else if (message.cmd === "stop") {
        const victims = agents.filter((a) => a.nc !== null).slice(0, message.count);
        const at = Date.now();
        await Promise.all(victims.map(bringDown));
        send({ event: "stopped", clusterIds: victims.map((a) => a.clusterId), at });
      } else if (message.cmd === "storm") {
        const startedAt = Date.now();
        const started = performance.now();
        await Promise.all(agents.map(bringDown));
        const failures = { count: 0, first: "" };
        await Promise.all(agents.map((a) => reconnectLikeTheAgent(a, failures)));
        send({
          event: "stormed",
          count: agents.filter((a) => a.nc !== null).length,
          reconnectMs: performance.now() - started,
          failures: failures.count,
          firstError: failures.first,
          startedAt,
        });
      } else if (message.cmd === "exit") {
        await Promise.all(agents.map(bringDown));
        process.exit(0);
      }
    } catch (err) {
      send({ event: "error", message: err instanceof Error ? err.message : String(err) });
    }
  })();
});
process.on("disconnect", () => process.exit(0));

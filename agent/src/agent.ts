/**
 * `stackyard-agent run`: loads the registration, checks Docker, connects, then serves commands and keeps the
 * control plane informed (heartbeats, inventory, Docker events) and its credentials fresh, until stopped.
 */
import type { ConnectionOptions, NatsConnection } from "nats";
import { ReplayGuard, assertCommandSigningPublicKey } from "../../nats/protocol/envelope.js";
import { encodeMessage } from "../../nats/protocol/messages.js";
import { toDockerEvent } from "./docker-events.js";
import { serveCommands, type CommandHandlers } from "./commands.js";
import type { RunConfig } from "./config.js";
import type { DockerEngine } from "./docker/engine.js";
import type { AgentError } from "./errors.js";
import type { AckedPublish } from "./events.js";
import { buildHeartbeat } from "./heartbeat.js";
import { InventoryReporter, collectInventory, isInventoryRelevant } from "./inventory.js";
import { openLink, type AgentLink } from "./link.js";
import { endLeftoverLeaf, prepareLeaf, startLeafServer, type LeafServer, type LeafServerOptions } from "./leaf.js";
import { ensureLeafEventsStream } from "./leaf-stream.js";
import { runLeafForwarder } from "./leaf-forwarder.js";
import { leafLocalSubjectOf } from "../../nats/protocol/subjects.js";
import type { Logger } from "./logger.js";
import { checkDockerReady } from "./preflight.js";
import { runRenewal } from "./renew.js";
import { createBackoff, every, sleep } from "./schedule.js";
import type { SealKeyPair } from "../../nats/protocol/sealing.js";
import { loadState, saveState, sealKeys, type AgentState } from "./state.js";

/** What command handlers may use of the running agent, for work that outlives a command's reply. */
export interface AgentServices {
  clusterId: string;
  /** The X25519 key pair secret values are sealed to; null for a registration made before sealing. */
  sealKeys: SealKeyPair | null;
  /** Acknowledged JetStream publish on the agent's connection (deployment events). */
  publish: AckedPublish;
  /** Plain core NATS publish on the agent's connection (at most once: live log lines). */
  notify: (subject: string, data: Uint8Array) => void;
  /** Plain core NATS subscription on the agent's connection (an exec session's input). */
  listen: (
    subject: string,
    onMessage: (data: Uint8Array) => void,
    onError: (err: Error) => void,
  ) => { unsubscribe(): void };
  log: Logger;
  now: () => number;
  /** Aborted when the agent stops. */
  signal: AbortSignal;
}

/** Handlers plus the background work they start (deployments), which the agent lets finish reporting on stop. */
export interface CommandService {
  handlers: CommandHandlers;
  /** Resolves once work started by commands has ended and reported; called on stop, before the link closes. */
  drain(): Promise<void>;
}

export interface RunAgentDeps {
  engine: DockerEngine;
  /** Plain handlers, or a factory for handlers that need the connection once it exists. */
  handlers: CommandHandlers | ((services: AgentServices) => CommandService);
  log: Logger;
  hostname: string;
  now?: () => number;
  connectFn?: (opts: ConnectionOptions) => Promise<NatsConnection>;
  startLeaf?: (opts: LeafServerOptions) => Promise<LeafServer>;
}

export interface RunningAgent {
  state(): AgentState;
  link: AgentLink;
  inventory: InventoryReporter;
  /** The supervised leaf node in leaf mode. */
  leaf: LeafServer | null;
  /** Resolves when the link ends on its own: with the reason when the server refused the credentials. */
  done: Promise<AgentError | null>;
  stop(): Promise<void>;
}

export const STOP_GRACE_MS = 10_000;
/** How long a stopping agent waits for the server to take its goodbye before going on regardless. */
export const GOODBYE_FLUSH_MS = 1_000;

export async function runAgent(config: RunConfig, deps: RunAgentDeps): Promise<RunningAgent> {
  const now = deps.now ?? Date.now;
  let state = await loadState(config.stateDir);
  assertCommandSigningPublicKey(state.commandSigningPublicKey);
  const log = deps.log.child({ clusterId: state.clusterId });
  await checkDockerReady(deps.engine, config.dockerSocket);

  const seed = new TextEncoder().encode(state.seed);
  // Leaf mode: our own nats-server first (it presents the creds file saveState keeps current), then a local link.
  let leaf: LeafServer | null = null;
  if (config.natsMode === "leaf") {
    const files = await prepareLeaf(config.stateDir, state, { port: config.leafPort, hubUrl: config.leafHubUrl ?? "" });
    await endLeftoverLeaf(files, log);
    leaf = await (deps.startLeaf ?? startLeafServer)({ configFile: files.configFile, port: config.leafPort, log });
  }
  let link: AgentLink;
  try {
    link = await openLink({
      servers: leaf ? [leaf.url] : (config.natsUrls ?? state.natsUrls),
      clusterId: state.clusterId,
      auth: config.natsAuth === "jwt" ? { jwt: () => state.jwt, seed } : null,
      ca: state.natsCa ?? null,
      log,
      ...(deps.connectFn ? { connectFn: deps.connectFn } : {}),
    });
    if (leaf) await ensureLeafEventsStream(await link.nc.jetstreamManager(), state.clusterId);
  } catch (err) {
    await leaf?.stop();
    throw err;
  }
  const { nc, subjects } = link;
  const controller = new AbortController();
  const signal = controller.signal;
  const startedAt = now();

  const js = nc.jetstream();
  const service: CommandService =
    typeof deps.handlers === "function"
      ? deps.handlers({
          clusterId: state.clusterId,
          sealKeys: sealKeys(state),
          // Leaf mode: into the leaf's own stream first; the forwarder takes each event on to the hub.
          publish: leaf
            ? (subject, data, opts) => js.publish(leafLocalSubjectOf(subject), data, opts)
            : (subject, data, opts) => js.publish(subject, data, opts),
          notify: (subject, data) => nc.publish(subject, data),
          listen: (subject, onMessage, onError) =>
            nc.subscribe(subject, {
              callback: (err, msg) => (err ? onError(err) : onMessage(msg.data)),
            }),
          log,
          now,
          signal,
        })
      : { handlers: deps.handlers, drain: async () => undefined };
  const commands = serveCommands(nc, {
    clusterId: state.clusterId,
    commandSigningPublicKey: state.commandSigningPublicKey,
    replayGuard: new ReplayGuard(),
    handlers: service.handlers,
    now,
    log,
    signal,
  });

  const inventory = new InventoryReporter({
    collect: () => collectInventory(deps.engine, state.clusterId, now()),
    publish: async (inv) => {
      // Sent on reconnect anyway; buffering stale inventories while disconnected would only delay that one.
      if (!link.isConnected()) throw new Error("not connected to NATS");
      nc.publish(subjects.inventory, encodeMessage("Inventory", inv));
    },
    log,
    now,
    debounceMs: config.inventoryDebounceMs,
    intervalMs: config.inventoryIntervalMs,
    resyncMs: config.inventoryResyncMs,
  });
  inventory.start();
  void inventory.report(true);
  link.onReconnect(() => void inventory.report(true));

  const heartbeats = every(
    config.heartbeatIntervalMs,
    async () => {
      if (!link.isConnected()) return;
      const heartbeat = await buildHeartbeat({
        engine: deps.engine,
        clusterId: state.clusterId,
        hostname: deps.hostname,
        startedAt,
        now,
        inventoryHash: () => inventory.lastHash,
        natsMode: config.natsMode,
      });
      nc.publish(subjects.heartbeat, encodeMessage("Heartbeat", heartbeat));
    },
    { signal, log, what: "heartbeat" },
  );

  const dockerEvents = (async () => {
    const backoff = createBackoff({ initialMs: 1_000, maxMs: 30_000 });
    while (!signal.aborted) {
      try {
        await deps.engine.watchEvents((event) => {
          backoff.reset();
          if (isInventoryRelevant(event)) inventory.trigger();
          const message = link.isConnected() ? toDockerEvent(event, state.clusterId, now()) : null;
          if (message) nc.publish(subjects.dockerEvents, encodeMessage("DockerEvent", message));
        }, signal);
      } catch (err) {
        log.warn("Docker event stream failed", { err });
      }
      if (signal.aborted) break;
      await sleep(backoff.next(), signal);
      // Events may have been missed while the stream was down.
      inventory.trigger();
    }
  })();

  const forwarder = leaf ? runLeafForwarder({ nc, log, signal }) : Promise.resolve(null);

  const renewal = runRenewal(
    {
      getState: () => state,
      setState: async (next) => {
        await saveState(config.stateDir, next);
        state = next;
      },
      request: async (subject, data, timeout) => (await nc.request(subject, data, { timeout })).data,
      // Behind a leaf node the leaf presents the creds file (rewritten by saveState) on its next connect.
      reconnect: config.natsAuth === "jwt" ? () => link.reconnect() : async () => undefined,
      now,
      log,
    },
    signal,
  );

  /**
   * Told first on a deliberate stop: the control plane shows the cluster offline at once (it would otherwise wait
   * for the heartbeat threshold). Command handlers refuse new work from here on (the signal is aborted).
   */
  const sayGoodbye = async () => {
    if (!link.isConnected()) return;
    try {
      nc.publish(
        subjects.goodbye,
        encodeMessage("Goodbye", { clusterId: state.clusterId, sentAt: now(), reason: "stopping" }),
      );
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([nc.flush(), new Promise((r) => (timer = setTimeout(r, GOODBYE_FLUSH_MS)))]).finally(() =>
        clearTimeout(timer),
      );
    } catch (err) {
      log.warn("saying goodbye to the control plane failed", { err });
    }
  };

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      controller.abort();
      inventory.stop();
      await sayGoodbye();
      let graceTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([commands.idle(), service.drain()]),
        new Promise((r) => (graceTimer = setTimeout(r, STOP_GRACE_MS))),
      ]);
      clearTimeout(graceTimer);
      await Promise.allSettled([heartbeats, dockerEvents, renewal, forwarder]);
      await link.close().catch((err: unknown) => log.warn("closing the NATS connection failed", { err }));
      await leaf?.stop();
      log.info("agent stopped");
    })();
    return stopping;
  };

  const done = link.closed.then(async (err) => {
    if (!stopping) await stop();
    return err;
  });
  log.info("agent running", {
    natsMode: config.natsMode,
    natsUrls: leaf ? [leaf.url] : (config.natsUrls ?? state.natsUrls),
    natsAuth: config.natsAuth,
    ...(leaf ? { leafHubUrl: config.leafHubUrl } : {}),
  });
  return { state: () => state, link, inventory, leaf, done, stop };
}

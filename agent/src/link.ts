/**
 * The agent's NATS connection. It authenticates with its JWT and signs the server's nonce with its seed (or,
 * behind a local leaf node, connects without credentials), uses a per-cluster inbox so replies reach it through
 * its narrow permissions, and reconnects forever with jittered backoff. It gives up only when the server keeps
 * refusing the credentials: then no retry can help and the operator must register again.
 */
import { connect, jwtAuthenticator, type ConnectionOptions, type NatsConnection } from "nats";
import { agentInboxPrefix, agentSubjects, type AgentSubjects } from "../../nats/protocol/subjects.js";
import { AgentError } from "./errors.js";
import type { Logger } from "./logger.js";
import { createBackoff, type Backoff } from "./schedule.js";

export const RECONNECT_INITIAL_MS = 500;
export const RECONNECT_MAX_MS = 30_000;
/** With a 20 s ping and 3 missed pongs, a dead connection is noticed within a minute. */
export const PING_INTERVAL_MS = 20_000;
export const MAX_PINGS_OUT = 3;

export interface LinkAuth {
  /** Read at every (re)connect, so a renewed JWT is used from the next connection on. */
  jwt: () => string;
  seed: Uint8Array;
}

export interface LinkOptions {
  servers: string[];
  clusterId: string;
  auth: LinkAuth | null;
  log: Logger;
  backoff?: Backoff;
  connectFn?: (opts: ConnectionOptions) => Promise<NatsConnection>;
}

export interface AgentLink {
  nc: NatsConnection;
  subjects: AgentSubjects;
  isConnected(): boolean;
  /** Called after every reconnect (not the first connect). */
  onReconnect(listener: () => void): void;
  /** Resolves when the connection ends for good; with an AgentError when the server refused the credentials. */
  closed: Promise<AgentError | null>;
  /** Drops and re-establishes the connection, e.g. to present a renewed JWT. */
  reconnect(): Promise<void>;
  close(): Promise<void>;
}

export interface ReconnectDelay {
  handler: () => number;
  reset(): void;
}

/**
 * nats.js calls `reconnectDelayHandler` on every pass of its dial loop, also while merely waiting for the delay to
 * pass, and dials once `lastConnect + delay <= now`. A handler that advanced the backoff on each call would race
 * to the maximum; this one holds each delay until it has elapsed, so successive attempts are spaced by successive
 * backoff steps.
 */
export function reconnectDelay(backoff: Backoff, now: () => number = Date.now): ReconnectDelay {
  let current: number | null = null;
  let since = 0;
  return {
    handler: () => {
      const t = now();
      if (current === null || t - since >= current) {
        current = backoff.next();
        since = t;
      }
      return current;
    },
    reset: () => {
      backoff.reset();
      current = null;
    },
  };
}

export function linkConnectionOptions(opts: LinkOptions, delay: ReconnectDelay): ConnectionOptions {
  return {
    servers: opts.servers,
    name: `agent-${opts.clusterId}`,
    inboxPrefix: agentInboxPrefix(opts.clusterId),
    ...(opts.auth ? { authenticator: jwtAuthenticator(opts.auth.jwt, opts.auth.seed) } : {}),
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectDelayHandler: delay.handler,
    pingInterval: PING_INTERVAL_MS,
    maxPingOut: MAX_PINGS_OUT,
    timeout: 10_000,
  };
}

const isAuthError = (err: unknown): boolean =>
  /AUTHORIZATION_VIOLATION|AUTHENTICATION_EXPIRED|Authorization Violation|User Authentication (Expired|Revoked)/i.test(
    String((err as { code?: unknown })?.code ?? "") + " " + String((err as Error)?.message ?? err),
  );

export async function openLink(opts: LinkOptions): Promise<AgentLink> {
  const delay = reconnectDelay(
    opts.backoff ?? createBackoff({ initialMs: RECONNECT_INITIAL_MS, maxMs: RECONNECT_MAX_MS }),
  );
  const connectFn = opts.connectFn ?? connect;
  let nc: NatsConnection;
  try {
    nc = await connectFn(linkConnectionOptions(opts, delay));
  } catch (err) {
    if (isAuthError(err)) {
      throw new AgentError(
        "CREDENTIALS_REJECTED",
        "the NATS server refused this agent's credentials (revoked or expired); register the agent again",
        { cause: err },
      );
    }
    throw err;
  }
  delay.reset();
  let connected = true;
  const listeners: Array<() => void> = [];
  const log = opts.log;
  log.info("connected to NATS", { server: nc.getServer() });

  void (async () => {
    for await (const status of nc.status()) {
      switch (status.type) {
        case "disconnect":
          connected = false;
          log.warn("disconnected from NATS; reconnecting", { server: String(status.data) });
          break;
        case "reconnect":
          connected = true;
          delay.reset();
          log.info("reconnected to NATS", { server: String(status.data) });
          for (const listener of listeners) listener();
          break;
        case "error":
          log.warn("NATS reported an error", { error: String(status.data) });
          break;
        case "ldm":
          log.info("NATS server is shutting down (lame duck); will move to another");
          break;
        default:
          log.debug("NATS status", { type: status.type, data: String(status.data) });
      }
    }
  })();

  const closed = nc.closed().then((err) => {
    connected = false;
    if (!err) return null;
    if (isAuthError(err)) {
      return new AgentError(
        "CREDENTIALS_REJECTED",
        "the NATS server refused this agent's credentials (revoked or expired); register the agent again",
        { cause: err },
      );
    }
    return new AgentError("LINK_CLOSED", `the NATS connection closed: ${err.message}`, { cause: err });
  });

  return {
    nc,
    subjects: agentSubjects(opts.clusterId),
    isConnected: () => connected && !nc.isClosed(),
    onReconnect: (listener) => listeners.push(listener),
    closed,
    reconnect: () => nc.reconnect(),
    close: async () => {
      if (!nc.isClosed()) await nc.drain();
    },
  };
}

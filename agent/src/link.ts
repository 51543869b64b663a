/**
 * The agent's NATS connection. It authenticates with its JWT and signs the server's nonce with its seed (or,
 * behind a local leaf node, connects without credentials), uses a per-cluster inbox so replies reach it through
 * its narrow permissions, and reconnects forever with jittered backoff. It gives up only when the server keeps
 * refusing the credentials: then no retry can help and the operator must register again.
 */
import { X509Certificate } from "node:crypto";
import { connect, type ConnectionOptions, type NatsConnection } from "nats";
import { nativeJwtAuthenticator } from "../../nats/fast-signer.js";
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
  /** The CA pinned at registration (PEM): the only one the server's certificate may chain to. */
  ca: string | null;
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

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** The scheme and host of a NATS URL, or null when it is not one (nats://, tls://, ws://, wss://). */
function parseNatsUrl(url: string): { scheme: string; host: string } | null {
  const m = /^(nats|tls|wss?):\/\/([^\s/]+)/.exec(url);
  if (!m) return null;
  const authority = m[2]!.replace(/^[^@]*@/, "");
  const host = authority.startsWith("[") ? authority.slice(0, authority.indexOf("]") + 1) : authority.split(":")[0]!;
  return { scheme: m[1]!, host: host.toLowerCase() };
}

const isPlaintextScheme = (scheme: string): boolean => scheme === "nats" || scheme === "ws";

/**
 * Plaintext NATS (nats://, ws://) carries the agent's commands, secret values included, readable by anyone on the
 * path: allowed only to loopback (a customer-side leaf node on this host). Everything else must be tls:// or wss://.
 * Returns the problems, one per refused URL.
 */
export function insecureNatsUrls(urls: readonly string[]): string[] {
  const problems: string[] = [];
  for (const url of urls) {
    const parsed = parseNatsUrl(url);
    if (!parsed) problems.push(`"${url}" is not a nats://, tls:// or ws(s):// URL`);
    else if (isPlaintextScheme(parsed.scheme) && !LOOPBACK_HOSTS.has(parsed.host)) {
      problems.push(
        `refusing plaintext ${parsed.scheme}:// to ${parsed.host} ("${url}"): use tls:// (or wss://); plaintext is allowed only on loopback, e.g. a local leaf node`,
      );
    }
  }
  return problems;
}

export function assertSecureNatsUrls(urls: readonly string[]): void {
  const problems = insecureNatsUrls(urls);
  if (problems.length > 0) throw new AgentError("NATS_URL_INSECURE", problems.join("; "));
}

/** Checks a CA certificate handed out at registration before it is pinned. */
export function assertCaCertificate(pem: string): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (err) {
    throw new AgentError("NATS_TLS_FAILED", "the NATS CA certificate is not a valid PEM certificate", { cause: err });
  }
  if (!cert.ca) throw new AgentError("NATS_TLS_FAILED", "the NATS CA certificate is not a CA certificate");
}

/**
 * TLS as soon as one URL asks for it (tls://, wss://), verified against the pinned CA only (or the system's CAs
 * without one). Set explicitly, so a server that answers without TLS is refused instead of spoken to in the clear.
 */
export function linkTlsOptions(servers: readonly string[], ca: string | null): ConnectionOptions["tls"] | undefined {
  const wantsTls = servers.some((u) => {
    const parsed = parseNatsUrl(u);
    return parsed !== null && !isPlaintextScheme(parsed.scheme);
  });
  if (!wantsTls) return undefined;
  return ca ? { ca } : {};
}

export function linkConnectionOptions(opts: LinkOptions, delay: ReconnectDelay): ConnectionOptions {
  const tls = linkTlsOptions(opts.servers, opts.ca);
  return {
    servers: opts.servers,
    name: `agent-${opts.clusterId}`,
    inboxPrefix: agentInboxPrefix(opts.clusterId),
    ...(opts.auth ? { authenticator: nativeJwtAuthenticator(opts.auth.jwt, opts.auth.seed) } : {}),
    ...(tls ? { tls } : {}),
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectDelayHandler: delay.handler,
    pingInterval: PING_INTERVAL_MS,
    maxPingOut: MAX_PINGS_OUT,
    timeout: 10_000,
  };
}

const isTlsError = (err: unknown): boolean =>
  /certificate|self[- ]signed|ERR_TLS|UNABLE_TO_VERIFY|DEPTH_ZERO|altnames|SERVER_OPT_NA tls/i.test(
    String((err as { code?: unknown })?.code ?? "") + " " + String((err as Error)?.message ?? err),
  );

const isAuthError = (err: unknown): boolean =>
  /AUTHORIZATION_VIOLATION|AUTHENTICATION_EXPIRED|Authorization Violation|User Authentication (Expired|Revoked)/i.test(
    String((err as { code?: unknown })?.code ?? "") + " " + String((err as Error)?.message ?? err),
  );

/** The first-connect failures no retry can fix: the server's certificate, or the agent's credentials. */
function fatalConnectError(err: unknown): AgentError | null {
  if (isTlsError(err)) {
    return new AgentError(
      "NATS_TLS_FAILED",
      `the NATS server's TLS could not be verified with the CA pinned at registration (${String((err as Error)?.message ?? err)}); ` +
        "if the server's CA changed on purpose, register the agent again",
      { cause: err },
    );
  }
  if (isAuthError(err)) {
    return new AgentError(
      "CREDENTIALS_REJECTED",
      "the NATS server refused this agent's credentials (revoked or expired); register the agent again",
      { cause: err },
    );
  }
  return null;
}

export async function openLink(opts: LinkOptions): Promise<AgentLink> {
  const delay = reconnectDelay(
    opts.backoff ?? createBackoff({ initialMs: RECONNECT_INITIAL_MS, maxMs: RECONNECT_MAX_MS }),
  );
  assertSecureNatsUrls(opts.servers);
  const connectFn = opts.connectFn ?? connect;
  const options = linkConnectionOptions(opts, delay);
  let nc: NatsConnection;
  try {
    // One attempt first, so a certificate that does not chain to the pinned CA, or refused credentials, are
    // reported at once; nats.js would otherwise retry them silently forever while waiting on its first connect.
    nc = await connectFn({ ...options, waitOnFirstConnect: false });
  } catch (err) {
    const fatal = fatalConnectError(err);
    if (fatal) throw fatal;
    opts.log.warn("NATS is not reachable yet; retrying", { error: String((err as Error)?.message ?? err) });
    try {
      nc = await connectFn(options);
    } catch (again) {
      throw fatalConnectError(again) ?? again;
    }
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

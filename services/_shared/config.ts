import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { MasterKeyConfigError, parseMasterKeys, type MasterKeys } from "./master-keys.js";
import { WEB_DIST_DIR } from "./paths.js";
import { TrustedProxies } from "./client-ip.js";

/**
 * The only module that reads process.env. Everything is validated at start; all problems are reported
 * together in one ConfigError so an operator fixes them in one go.
 */

/** Builds from source: services built at once, and how long a whole build may take. */
export const DEFAULT_BUILD_CONCURRENCY = 2;
export const DEFAULT_BUILD_TIMEOUT_SECONDS = 1800;

/** Grows as services are implemented; every name must have a factory in services/registry.ts. */
export const SERVICE_NAMES = [
  "api",
  "auth",
  "audit",
  "clusters",
  "stacks",
  "deployments",
  "deploy-worker",
  "notifications",
  "alerts",
  "ingress",
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_HTTP_PORT = 8080;
/** What `docker compose -f docker-compose.dev.yml build agent` tags; set AGENT_IMAGE to your registry's copy. */
export const DEFAULT_AGENT_IMAGE = "stackyard/agent:dev";
/** The official nginx image: the managed ingress proxy of a cluster unless its settings name another. */
export const DEFAULT_INGRESS_IMAGE = "nginx";
export const DEFAULT_HTTP_HOST = "127.0.0.1";
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
/** Live preview environments per org unless the org says otherwise (orgs.preview_quota). */
export const DEFAULT_PREVIEW_QUOTA_PER_ORG = 5;
export const DEFAULT_DB_POOL_MAX = 10;
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
export const DEFAULT_ACTIVITY_MAX_ROWS = 5_000;
export const DEFAULT_ALERT_EVAL_INTERVAL_MS = 10_000;
export const DEFAULT_ACTIVITY_MAX_AGE_SECONDS = 14 * 24 * 3600;
export const DEFAULT_ACTIVITY_PRUNE_INTERVAL_MS = 5 * 60_000;
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
export const MAX_ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
export const DEFAULT_REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600;
/** A session (a login and all its refreshes) ends this long after the login, however often it is refreshed. */
export const DEFAULT_SESSION_MAX_LIFETIME_SECONDS = 30 * 24 * 3600;
export const DEFAULT_CREDENTIAL_CACHE_TTL_SECONDS = 30;
export const DEFAULT_API_TOKEN_MAX_LIFETIME_DAYS = 365;
export const MIN_JWT_SECRET_BYTES = 32;
/** Swarm secret versions of each environment secret kept after a successful deploy, for `docker service rollback`. */
export const DEFAULT_SECRET_VERSIONS_KEPT = 3;
export const MAX_SECRET_VERSIONS_KEPT = 50;
/** Concurrent git fetches per org and process (release creation from git, host key scans). */
export const DEFAULT_GIT_FETCH_CONCURRENCY_PER_ORG = 2;

export interface JwtKey {
  kid: string;
  secret: Buffer;
}

export interface Config {
  nodeId: string | undefined;
  services: ServiceName[];
  logLevel: LogLevel;
  http: {
    host: string;
    port: number;
    bodyLimitBytes: number;
    /** The built web UI the gateway serves (ignored when it holds no build). */
    webDistDir: string;
    /** Browsers' live-update WebSockets (`/v1/live`) one gateway process carries at once. */
    liveMaxConnections: number;
  };
  database: { url: string; poolMax: number };
  nats: {
    /** Every server of the cluster (NATS_URL, comma-separated): clients fail over between them. */
    urls: string[];
    /**
     * Replicas of the JetStream streams (jobs, agent events): 1 on a single server, 3 on a 3-node cluster, so a
     * node lost keeps every acknowledged message. At most the cluster's size.
     */
    streamReplicas: number;
    credsFile: string;
    /** The installation's NATS trust chain (nats/identity.ts): signs agent credentials and revocations. */
    identityFile: string;
    /** System-account creds, to push account JWT updates (revocations) to the server. */
    systemCredsFile: string;
    /** URLs agents are told to connect to (defaults to NATS_URL). */
    agentUrls: string[];
    /**
     * PEM file of the CA that signed the NATS server's certificate: the control plane verifies the server with
     * it, and registration hands it to agents, which pin it. Undefined: the system's trusted CAs.
     */
    tlsCaFile: string | undefined;
    /**
     * The NATS websocket listener the gateway forwards browsers' live connections to (`/v1/live`); undefined:
     * no live updates, the UI polls.
     */
    wsUrl: string | undefined;
  };
  stacks: {
    /** AES-256-GCM keys for environment secrets; the first encrypts, all decrypt (rotation). */
    masterKeys: MasterKeys;
    composeMaxBytes: number;
    gitTimeoutMs: number;
    gitAllowedSchemes: Array<"https" | "ssh" | "file">;
    /** SSRF guard: refuse private ranges too (loopback, link-local and metadata are always refused). */
    gitBlockPrivateNetworks: boolean;
    /** Git fetches one org may run at once in one stacks process; more answer 429 GIT_FETCH_LIMIT. */
    gitFetchConcurrencyPerOrg: number;
    /** TEST ONLY: `host:port` pairs the SSRF guard lets through (a suite's loopback SSH server). */
    gitTestAllowedHosts: Set<string>;
    /** How often each stacks process looks for due git sync sources (each source has its own interval). */
    gitSyncTickMs: number;
  };
  notifications: {
    /** SSRF guard of webhook endpoints: refuse private ranges too (loopback, link-local and metadata always). */
    blockPrivateNetworks: boolean;
    /** TEST ONLY: `host:port` pairs the guard lets through (a suite's loopback receiver). */
    testAllowedHosts: Set<string>;
    /** One POST may take this long before it counts as a failed attempt. */
    timeoutMs: number;
    /** Attempts before a delivery is given up (marked failed). */
    maxAttempts: number;
    /** The first retry waits this long; each next one twice as long (with jitter), up to an hour. */
    retryBaseMs: number;
    /** How often the sender looks for due deliveries when none woke it. */
    pollIntervalMs: number;
  };
  alerts: {
    /** How often each alerts process looks for rules due for evaluation (and each rule is evaluated). */
    evalIntervalMs: number;
    /** The SMTP relay of email alerts; none: rules with email recipients are refused. */
    smtp: {
      host: string;
      port: number;
      /** Implicit TLS (port 465); otherwise STARTTLS when the server offers it. */
      secure: boolean;
      from: string;
      user: string | undefined;
      password: string | undefined;
      timeoutMs: number;
    } | null;
    /** Attempts of one email before it is given up; the first retry waits retryBaseMs, then twice as long each. */
    emailMaxAttempts: number;
    emailRetryBaseMs: number;
  };
  previews: {
    /** Live preview environments an org may have when its own `preview_quota` is null. */
    defaultQuotaPerOrg: number;
    /** How often each deployments process looks for previews idle past their TTL. */
    reaperTickMs: number;
    /** SSRF guard of forge API calls (commit status, PR comment): refuse private ranges too. */
    forgeBlockPrivateNetworks: boolean;
    /** TEST ONLY: `host:port` pairs the forge guard lets through (a suite's loopback recorder). */
    forgeTestAllowedHosts: Set<string>;
    /** One forge API call may take this long. */
    forgeTimeoutMs: number;
  };
  deployments: {
    /** A deployment waits this long for an offline agent before it fails. */
    agentWaitSeconds: number;
    dispatchTimeoutMs: number;
    scaleTimeoutSeconds: number;
    statusTimeoutMs: number;
    /** RUNNING longer than the environment's timeout plus this, without a result: FAILED. */
    staleGraceSeconds: number;
    /** Versions of each secret kept on the swarm after a successful deploy (the current one included). */
    secretVersionsKept: number;
    /** Services of one release built at once on the agent (builds from source). */
    buildConcurrency: number;
    /** A build running longer than this fails (BUILD_TIMED_OUT). */
    buildTimeoutSeconds: number;
  };
  clusters: {
    /** Base URL agents use to register, shown in the agent command line. */
    publicUrl: string;
    /** The agent image the `docker run` install command names. */
    agentImage: string;
    registrationTokenTtlSeconds: number;
    agentCredentialTtlSeconds: number;
    /** A cluster is offline when its last heartbeat is older than this. */
    offlineAfterSeconds: number;
    /** Cluster activity (Docker events) kept per cluster: newest rows, and none older than the max age. */
    activityMaxRowsPerCluster: number;
    activityMaxAgeSeconds: number;
    /** How often the retention job prunes cluster activity. */
    activityPruneIntervalMs: number;
  };
  ingress: {
    /** The nginx image of a new cluster ingress whose request names none. */
    defaultImage: string;
    /** How long the agent may take to roll the proxy out. */
    applyTimeoutSeconds: number;
    /** PEM file of CAs trusted for the ACME directory's HTTPS besides the system's (a test CA such as pebble's). */
    acmeCaFile: string | null;
    /** How often the control plane looks for certificates to order or renew. */
    renewIntervalSeconds: number;
    /** An ACME certificate is renewed once it expires within this. */
    renewBeforeSeconds: number;
  };
  requestTimeoutMs: number;
  auth: {
    /** The first key signs; every key verifies (rotation: prepend the new key, drop the old after the TTL). */
    jwtKeys: JwtKey[];
    issuer: string;
    audience: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    /** Absolute lifetime of a session from its login: refreshes cannot slide it further. */
    sessionMaxLifetimeSeconds: number;
    /** How long a verified API token or session stays in memory before it is checked again. */
    credentialCacheTtlSeconds: number;
    /** System bootstrap credential allowing org creation after the first run; undefined disables it. */
    bootstrapToken: string | undefined;
    /** Longest lifetime of an API token; a token without an expiry gets this one. */
    apiTokenMaxLifetimeDays: number;
    /** Your proxies in front of the gateway (CIDRs): X-Forwarded-For is read back to the first hop outside them. */
    trustedProxies: TrustedProxies;
  };
  /** The process's Prometheus listener (services/_shared/metrics-server.ts); null: none. */
  metrics: MetricsListen | null;
}

export interface MetricsListen {
  host: string;
  port: number;
  /** Bearer token a scrape must present; required when `host` is not loopback. */
  token: string | undefined;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "::1", "localhost"]);
export const MIN_METRICS_TOKEN_LENGTH = 24;

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

type Env = Record<string, string | undefined>;

/** Collects problems instead of throwing at the first one. */
class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  required(name: string, hint: string): string {
    const value = this.env[name]?.trim();
    if (!value) {
      this.problems.push(`${name} is missing (${hint})`);
      return "";
    }
    return value;
  }

  optional(name: string, fallback: string): string {
    const value = this.env[name]?.trim();
    return value ? value : fallback;
  }

  url(name: string, protocols: string[], hint: string): string {
    const value = this.required(name, hint);
    if (!value) return value;
    try {
      const parsed = new URL(value);
      if (!protocols.includes(parsed.protocol)) {
        this.problems.push(`${name} must use ${protocols.join(" or ")} (got ${parsed.protocol})`);
      }
    } catch {
      this.problems.push(`${name} is not a valid URL`);
    }
    return value;
  }

  /** A comma-separated list of URLs, each checked like `url`; at least one. */
  urls(name: string, protocols: string[], hint: string): string[] {
    const value = this.required(name, hint);
    if (!value) return [];
    const urls = value
      .split(",")
      .map((u) => u.trim())
      .filter(Boolean);
    if (urls.length === 0) this.problems.push(`${name} lists no URL (${hint})`);
    for (const url of urls) {
      const which = urls.length > 1 ? ` ("${url}")` : "";
      try {
        const parsed = new URL(url);
        if (!protocols.includes(parsed.protocol)) {
          this.problems.push(`${name} must use ${protocols.join(" or ")} (got ${parsed.protocol})${which}`);
        }
      } catch {
        this.problems.push(`${name} is not a valid URL${which}`);
      }
    }
    return urls;
  }

  /** An optional PEM certificate file, read and checked at start so a wrong path fails the boot, not a connect. */
  certificateFile(name: string): string | undefined {
    const path = this.env[name]?.trim();
    if (!path) return undefined;
    let pem: string;
    try {
      pem = readFileSync(path, "utf8");
    } catch (err) {
      this.problems.push(`${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
      return path;
    }
    try {
      if (!new X509Certificate(pem).ca) this.problems.push(`${name}: ${path} is not a CA certificate`);
    } catch {
      this.problems.push(`${name}: ${path} is not a PEM certificate`);
    }
    return path;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name]?.trim();
    if (!raw) return fallback;
    if (raw === "true" || raw === "1") return true;
    if (raw === "false" || raw === "0") return false;
    this.problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  }

  /** `kid:base64secret[,kid:base64secret]`, each secret at least MIN_JWT_SECRET_BYTES long. */
  jwtKeys(name: string): JwtKey[] {
    const raw = this.required(name, "e.g. k1:<base64 of 32+ random bytes>; the first key signs");
    if (!raw) return [];
    const keys: JwtKey[] = [];
    for (const entry of raw.split(",")) {
      const [kid, b64] = entry.split(":");
      const secret = Buffer.from(b64 ?? "", "base64");
      if (!kid || !/^[A-Za-z0-9_-]{1,32}$/.test(kid)) {
        this.problems.push(`${name}: each entry must be <kid>:<base64 secret> with a kid of [A-Za-z0-9_-]`);
      } else if (secret.length < MIN_JWT_SECRET_BYTES) {
        this.problems.push(`${name}: key "${kid}" must decode to at least ${MIN_JWT_SECRET_BYTES} bytes`);
      } else if (keys.some((k) => k.kid === kid)) {
        this.problems.push(`${name}: key id "${kid}" appears twice`);
      } else {
        keys.push({ kid, secret });
      }
    }
    return keys;
  }

  masterKeys(name: string): MasterKeys {
    const raw = this.required(name, "e.g. k1:<base64 of 32 random bytes>; the first key encrypts");
    if (!raw) return { activeKeyId: "", keys: new Map() };
    try {
      return parseMasterKeys(raw);
    } catch (err) {
      if (err instanceof MasterKeyConfigError) this.problems.push(...err.problems.map((p) => `${name}: ${p}`));
      else throw err;
      return { activeKeyId: "", keys: new Map() };
    }
  }

  /** `host:port` (`[v6]:port`) of the metrics listener; unset or `off`: none. */
  metricsListen(name: string, tokenName: string): MetricsListen | null {
    const raw = this.env[name]?.trim();
    const token = this.env[tokenName]?.trim() || undefined;
    if (!raw || raw === "off") return null;
    const match = /^(?:\[([0-9a-fA-F:]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(raw);
    const port = Number(match?.[3]);
    if (!match || port > 65535) {
      this.problems.push(`${name} must be host:port, e.g. 127.0.0.1:9464, or off (got "${raw}")`);
      return null;
    }
    const host = (match[1] ?? match[2])!;
    if (token !== undefined && token.length < MIN_METRICS_TOKEN_LENGTH) {
      this.problems.push(`${tokenName} must be at least ${MIN_METRICS_TOKEN_LENGTH} characters`);
    }
    // Metrics name clusters, routes and rates: off loopback they are only served to a scraper holding the token.
    if (!LOOPBACK_HOSTS.has(host) && token === undefined) {
      this.problems.push(`${name} listens on ${host}, beyond loopback: set ${tokenName} so only your scraper reads it`);
    }
    return { host, port, token };
  }

  trustedProxies(name: string): TrustedProxies {
    if (this.env.HTTP_TRUST_PROXY !== undefined) {
      this.problems.push(
        `HTTP_TRUST_PROXY is replaced by ${name}: list your proxies' CIDRs (e.g. 10.0.0.0/8); trusting every sender of X-Forwarded-For let clients forge their address`,
      );
    }
    const cidrs = (this.env[name] ?? "")
      .split(",")
      .map((c) => c.trim())
      .filter(Boolean);
    try {
      return new TrustedProxies(cidrs);
    } catch (err) {
      this.problems.push(`${name}: ${(err as Error).message}`);
      return new TrustedProxies([]);
    }
  }

  /** `host:port[,host:port]` (IPv6 hosts in brackets). */
  hostPorts(name: string): Set<string> {
    const hosts = new Set<string>();
    for (const entry of (this.env[name] ?? "")
      .split(",")
      .map((e) => e.trim())
      .filter(Boolean)) {
      const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry);
      const port = Number(match?.[2]);
      if (!match || port < 1 || port > 65535) this.problems.push(`${name}: "${entry}" is not host:port`);
      else hosts.add(`${(match[1] ?? "").replace(/^\[(.*)\]$/, "$1").toLowerCase()}:${port}`);
    }
    return hosts;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.env[name]?.trim();
    if (!raw) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name} must be one of ${allowed.join(", ")} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  }

  list<T extends string>(name: string, allowed: readonly T[], fallback: readonly T[]): T[] {
    const raw = this.env[name]?.trim();
    if (!raw || raw === "all") return [...fallback];
    const items = raw
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = items.filter((i) => !(allowed as readonly string[]).includes(i));
    if (unknown.length > 0) {
      this.problems.push(`${name} has unknown entries ${unknown.join(", ")} (allowed: all, ${allowed.join(", ")})`);
    }
    return items.filter((i): i is T => (allowed as readonly string[]).includes(i));
  }
}

export function loadConfig(env: Env = process.env): Config {
  const r = new EnvReader(env);
  const config: Config = {
    nodeId: env.NODE_ID?.trim() || undefined,
    services: r.list("SERVICES", SERVICE_NAMES, SERVICE_NAMES),
    logLevel: r.oneOf("LOG_LEVEL", LOG_LEVELS, "info"),
    http: {
      host: r.optional("HTTP_HOST", DEFAULT_HTTP_HOST),
      port: r.int("HTTP_PORT", DEFAULT_HTTP_PORT, 0, 65535),
      bodyLimitBytes: r.int("HTTP_BODY_LIMIT_BYTES", DEFAULT_BODY_LIMIT_BYTES, 1024, 64 * 1024 * 1024),
      webDistDir: r.optional("WEB_DIST_DIR", WEB_DIST_DIR),
      liveMaxConnections: r.int("LIVE_MAX_CONNECTIONS", 10_000, 1, 1_000_000),
    },
    database: {
      url: r.url("DATABASE_URL", ["postgres:", "postgresql:"], "e.g. postgres://user:pass@127.0.0.1:5432/stackyard"),
      poolMax: r.int("DB_POOL_MAX", DEFAULT_DB_POOL_MAX, 1, 200),
    },
    nats: {
      urls: r.urls("NATS_URL", ["nats:", "tls:"], "e.g. tls://127.0.0.1:14222 or tls://n1:4222,tls://n2:4222"),
      streamReplicas: r.int("NATS_STREAM_REPLICAS", 1, 1, 5),
      credsFile: r.required("NATS_CREDS", "path to the control plane's NATS .creds file"),
      identityFile: r.required("NATS_IDENTITY_FILE", "path to the NATS identity.json written by scripts/nats.ts"),
      systemCredsFile: r.required("NATS_SYSTEM_CREDS", "path to the system account's .creds file"),
      agentUrls: (env.NATS_AGENT_URLS?.trim() || env.NATS_URL?.trim() || "")
        .split(",")
        .map((u) => u.trim())
        .filter(Boolean),
      tlsCaFile: r.certificateFile("NATS_TLS_CA_FILE"),
      wsUrl: env.NATS_WS_URL?.trim() ? r.url("NATS_WS_URL", ["ws:", "wss:"], "e.g. wss://127.0.0.1:14280") : undefined,
    },
    stacks: {
      masterKeys: r.masterKeys("CONTROLPLANE_MASTER_KEY"),
      composeMaxBytes: r.int("COMPOSE_MAX_BYTES", 256 * 1024, 1024, 4 * 1024 * 1024),
      gitTimeoutMs: r.int("GIT_TIMEOUT_MS", 30_000, 1_000, 600_000),
      gitAllowedSchemes: r.list("GIT_ALLOWED_SCHEMES", ["https", "ssh", "file"] as const, ["https", "ssh"]),
      gitBlockPrivateNetworks: r.bool("GIT_BLOCK_PRIVATE_NETWORKS", true),
      gitFetchConcurrencyPerOrg: r.int("GIT_FETCH_CONCURRENCY_PER_ORG", DEFAULT_GIT_FETCH_CONCURRENCY_PER_ORG, 1, 100),
      gitTestAllowedHosts: r.hostPorts("STACKYARD_TEST_GIT_ALLOW_HOSTS"),
      gitSyncTickMs: r.int("GIT_SYNC_TICK_MS", 5_000, 200, 60_000),
    },
    notifications: {
      blockPrivateNetworks: r.bool("NOTIFY_BLOCK_PRIVATE_NETWORKS", true),
      testAllowedHosts: r.hostPorts("STACKYARD_TEST_NOTIFY_ALLOW_HOSTS"),
      timeoutMs: r.int("NOTIFY_TIMEOUT_MS", 10_000, 500, 60_000),
      maxAttempts: r.int("NOTIFY_MAX_ATTEMPTS", 8, 1, 20),
      retryBaseMs: r.int("NOTIFY_RETRY_BASE_MS", 5_000, 100, 3_600_000),
      pollIntervalMs: r.int("NOTIFY_POLL_INTERVAL_MS", 2_000, 100, 60_000),
    },
    alerts: {
      evalIntervalMs: r.int("ALERT_EVAL_INTERVAL_MS", DEFAULT_ALERT_EVAL_INTERVAL_MS, 100, 600_000),
      smtp: env.ALERT_SMTP_HOST?.trim()
        ? {
            host: env.ALERT_SMTP_HOST.trim(),
            port: r.int("ALERT_SMTP_PORT", 587, 1, 65535),
            secure: r.bool("ALERT_SMTP_SECURE", false),
            from: r.required("ALERT_SMTP_FROM", "the From address of alert emails, e.g. alerts@example.com"),
            user: env.ALERT_SMTP_USER?.trim() || undefined,
            password: env.ALERT_SMTP_PASSWORD || undefined,
            timeoutMs: r.int("ALERT_SMTP_TIMEOUT_MS", 10_000, 500, 120_000),
          }
        : null,
      emailMaxAttempts: r.int("ALERT_EMAIL_MAX_ATTEMPTS", 8, 1, 20),
      emailRetryBaseMs: r.int("ALERT_EMAIL_RETRY_BASE_MS", 5_000, 100, 3_600_000),
    },
    previews: {
      defaultQuotaPerOrg: r.int("PREVIEW_QUOTA_PER_ORG", DEFAULT_PREVIEW_QUOTA_PER_ORG, 0, 10_000),
      reaperTickMs: r.int("PREVIEW_REAPER_TICK_MS", 60_000, 200, 3_600_000),
      forgeBlockPrivateNetworks: r.bool("PREVIEW_FORGE_BLOCK_PRIVATE_NETWORKS", true),
      forgeTestAllowedHosts: r.hostPorts("STACKYARD_TEST_FORGE_ALLOW_HOSTS"),
      forgeTimeoutMs: r.int("PREVIEW_FORGE_TIMEOUT_MS", 10_000, 500, 60_000),
    },
    deployments: {
      agentWaitSeconds: r.int("DEPLOY_AGENT_WAIT_SECONDS", 300, 1, 24 * 3600),
      dispatchTimeoutMs: r.int("DEPLOY_DISPATCH_TIMEOUT_MS", 10_000, 500, 120_000),
      scaleTimeoutSeconds: r.int("SCALE_TIMEOUT_SECONDS", 120, 5, 900),
      statusTimeoutMs: r.int("AGENT_STATUS_TIMEOUT_MS", 5_000, 200, 60_000),
      staleGraceSeconds: r.int("DEPLOY_STALE_GRACE_SECONDS", 60, 5, 3600),
      secretVersionsKept: r.int("SECRET_VERSIONS_KEPT", DEFAULT_SECRET_VERSIONS_KEPT, 1, MAX_SECRET_VERSIONS_KEPT),
      buildConcurrency: r.int("BUILD_CONCURRENCY", DEFAULT_BUILD_CONCURRENCY, 1, 16),
      buildTimeoutSeconds: r.int("BUILD_TIMEOUT_SECONDS", DEFAULT_BUILD_TIMEOUT_SECONDS, 10, 24 * 3600),
    },
    clusters: {
      publicUrl: r.optional(
        "CONTROLPLANE_PUBLIC_URL",
        `http://127.0.0.1:${env.HTTP_PORT?.trim() || DEFAULT_HTTP_PORT}`,
      ),
      agentImage: r.optional("AGENT_IMAGE", DEFAULT_AGENT_IMAGE),
      registrationTokenTtlSeconds: r.int("CLUSTER_REGISTRATION_TOKEN_TTL_SECONDS", 3600, 60, 7 * 24 * 3600),
      agentCredentialTtlSeconds: r.int("AGENT_CREDENTIAL_TTL_SECONDS", 30 * 24 * 3600, 300, 365 * 24 * 3600),
      offlineAfterSeconds: r.int("CLUSTER_OFFLINE_AFTER_SECONDS", 35, 5, 3600),
      activityMaxRowsPerCluster: r.int("CLUSTER_ACTIVITY_MAX_ROWS", DEFAULT_ACTIVITY_MAX_ROWS, 10, 1_000_000),
      activityMaxAgeSeconds: r.int(
        "CLUSTER_ACTIVITY_MAX_AGE_SECONDS",
        DEFAULT_ACTIVITY_MAX_AGE_SECONDS,
        60,
        365 * 24 * 3600,
      ),
      activityPruneIntervalMs: r.int(
        "CLUSTER_ACTIVITY_PRUNE_INTERVAL_MS",
        DEFAULT_ACTIVITY_PRUNE_INTERVAL_MS,
        100,
        24 * 3600_000,
      ),
    },
    ingress: {
      defaultImage: r.optional("STACKYARD_INGRESS_IMAGE", DEFAULT_INGRESS_IMAGE),
      applyTimeoutSeconds: r.int("STACKYARD_INGRESS_APPLY_TIMEOUT_SECONDS", 90, 5, 600),
      acmeCaFile: env.STACKYARD_ACME_CA_FILE?.trim() || null,
      renewIntervalSeconds: r.int("STACKYARD_ACME_RENEW_INTERVAL_SECONDS", 3600, 1, 7 * 24 * 3600),
      renewBeforeSeconds: r.int("STACKYARD_ACME_RENEW_BEFORE_SECONDS", 30 * 24 * 3600, 60, 10 * 365 * 24 * 3600),
    },
    requestTimeoutMs: r.int("REQUEST_TIMEOUT_MS", DEFAULT_REQUEST_TIMEOUT_MS, 100, 600_000),
    auth: {
      jwtKeys: r.jwtKeys("AUTH_JWT_KEYS"),
      issuer: r.optional("AUTH_ISSUER", "stackyard"),
      audience: r.optional("AUTH_AUDIENCE", "stackyard-api"),
      accessTokenTtlSeconds: r.int(
        "AUTH_ACCESS_TOKEN_TTL_SECONDS",
        DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
        1,
        MAX_ACCESS_TOKEN_TTL_SECONDS,
      ),
      refreshTokenTtlSeconds: r.int(
        "AUTH_REFRESH_TOKEN_TTL_SECONDS",
        DEFAULT_REFRESH_TOKEN_TTL_SECONDS,
        60,
        365 * 24 * 3600,
      ),
      sessionMaxLifetimeSeconds: r.int(
        "AUTH_SESSION_MAX_LIFETIME_SECONDS",
        DEFAULT_SESSION_MAX_LIFETIME_SECONDS,
        300,
        365 * 24 * 3600,
      ),
      credentialCacheTtlSeconds: r.int(
        "AUTH_CREDENTIAL_CACHE_TTL_SECONDS",
        DEFAULT_CREDENTIAL_CACHE_TTL_SECONDS,
        0,
        300,
      ),
      bootstrapToken: env.STACKYARD_BOOTSTRAP_TOKEN?.trim() || undefined,
      apiTokenMaxLifetimeDays: r.int("API_TOKEN_MAX_LIFETIME_DAYS", DEFAULT_API_TOKEN_MAX_LIFETIME_DAYS, 1, 3650),
      trustedProxies: r.trustedProxies("HTTP_TRUSTED_PROXIES"),
    },
    metrics: r.metricsListen("METRICS_LISTEN", "METRICS_TOKEN"),
  };
  if (config.auth.bootstrapToken !== undefined && config.auth.bootstrapToken.length < 32) {
    r.problems.push("STACKYARD_BOOTSTRAP_TOKEN must be at least 32 characters");
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}

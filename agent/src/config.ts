/**
 * The agent's only reader of its environment: command-line flags first, then `STACKYARD_AGENT_*` variables,
 * then defaults. Every problem is collected and reported in one AgentConfigError.
 */
import { parseArgs } from "node:util";
import { AgentConfigError } from "./errors.js";
import { DEFAULT_LEAF_PORT } from "./leaf.js";
import { insecureNatsUrls } from "./link.js";
import { LOG_LEVELS, type LogLevel } from "./logger.js";

export const DEFAULT_STATE_DIR = "/var/lib/stackyard-agent";
export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;
export const DEFAULT_INVENTORY_INTERVAL_MS = 60_000;
export const DEFAULT_INVENTORY_DEBOUNCE_MS = 2_000;
/** An unchanged inventory is still resent this often, so a control plane that lost it catches up. */
export const DEFAULT_INVENTORY_RESYNC_MS = 10 * 60_000;

export type NatsAuth = "jwt" | "none";
/** `direct`: the agent is a NATS client of the hub. `leaf`: it runs its own leaf node (agent/src/leaf.ts). */
export type NatsMode = "direct" | "leaf";

interface Common {
  stateDir: string;
  dockerSocket: string;
  logLevel: LogLevel;
}

export interface RegisterConfig extends Common {
  command: "register";
  /** Control-plane base URL, without a trailing slash. */
  url: string;
  token: string;
  /** Replace an existing registration in the state dir. */
  force: boolean;
}

export interface RunConfig extends Common {
  command: "run";
  /** Overrides the NATS URLs from registration, e.g. a local leaf node. */
  natsUrls: string[] | null;
  /** `none` when a local leaf node holds the credentials and accepts local clients without auth. */
  natsAuth: NatsAuth;
  natsMode: NatsMode;
  /** Leaf mode: the hub's leafnode listener (tls://host:port). */
  leafHubUrl: string | null;
  /** Leaf mode: the loopback port the leaf listens on for the agent. */
  leafPort: number;
  heartbeatIntervalMs: number;
  inventoryIntervalMs: number;
  inventoryDebounceMs: number;
  inventoryResyncMs: number;
}

export type AgentConfig = RegisterConfig | RunConfig | { command: "help" } | { command: "version" };

export const USAGE = `Usage:
  stackyard-agent register --url <control plane URL> --token <registration token> [--state-dir DIR] [--force]
  stackyard-agent run [--state-dir DIR] [--nats-url URL[,URL...]] [--nats-auth jwt|none]
  stackyard-agent run --nats-mode leaf --leaf-hub-url tls://<hub>:<leafnode port> [--leaf-port PORT]
  stackyard-agent help | version

Every flag can also be set as an environment variable: --state-dir is STACKYARD_AGENT_STATE_DIR, and so on
(STACKYARD_AGENT_URL, STACKYARD_AGENT_TOKEN, STACKYARD_AGENT_DOCKER_SOCKET, STACKYARD_AGENT_LOG_LEVEL,
STACKYARD_AGENT_NATS_URL, STACKYARD_AGENT_NATS_AUTH, STACKYARD_AGENT_NATS_MODE, STACKYARD_AGENT_LEAF_HUB_URL,
STACKYARD_AGENT_LEAF_PORT, STACKYARD_AGENT_ALLOW_HTTP,
STACKYARD_AGENT_HEARTBEAT_INTERVAL_MS, STACKYARD_AGENT_INVENTORY_INTERVAL_MS,
STACKYARD_AGENT_INVENTORY_DEBOUNCE_MS, STACKYARD_AGENT_INVENTORY_RESYNC_MS).
Prefer STACKYARD_AGENT_TOKEN to --token: command lines are visible to other users of the host.
Defaults: state dir ${DEFAULT_STATE_DIR}, Docker socket the unix:// DOCKER_HOST if set, else ${DEFAULT_DOCKER_SOCKET},
log level info.
--allow-http permits a plain-http control plane URL other than loopback (development only).
NATS URLs must be tls:// or wss:// except on loopback (e.g. a local leaf node); the server is verified with the
CA handed over at registration.
--nats-mode leaf runs nats-server as a leaf node of the hub (TLS, the agent's own credentials, JetStream keeping
deployment events through WAN cuts), listening on 127.0.0.1:--leaf-port (default ${DEFAULT_LEAF_PORT}) only.`;

type Env = Record<string, string | undefined>;

/**
 * The socket of a `unix://` DOCKER_HOST, the docker CLI's own variable, so an agent started where DOCKER_HOST
 * points at another daemon drives that daemon (both through dockerode and through `docker stack deploy`) rather
 * than /var/run/docker.sock. Any other scheme is refused: the agent only speaks to a local socket.
 */
function dockerHostSocket(raw: string | undefined, problems: string[]): string | undefined {
  const value = raw?.trim();
  if (!value) return undefined;
  if (!value.startsWith("unix://")) {
    problems.push(
      `DOCKER_HOST must be a unix:// socket (got "${value}"); use --docker-socket / STACKYARD_AGENT_DOCKER_SOCKET`,
    );
    return undefined;
  }
  return value.slice("unix://".length);
}

const OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  "state-dir": { type: "string" },
  "docker-socket": { type: "string" },
  "log-level": { type: "string" },
  force: { type: "boolean" },
  "allow-http": { type: "boolean" },
  "nats-url": { type: "string" },
  "nats-auth": { type: "string" },
  "nats-mode": { type: "string" },
  "leaf-hub-url": { type: "string" },
  "leaf-port": { type: "string" },
  "heartbeat-interval-ms": { type: "string" },
  "inventory-interval-ms": { type: "string" },
  "inventory-debounce-ms": { type: "string" },
  "inventory-resync-ms": { type: "string" },
} as const;
type OptionName = keyof typeof OPTIONS;

const REGISTER_ONLY: OptionName[] = ["url", "token", "force", "allow-http"];
const RUN_ONLY: OptionName[] = [
  "nats-url",
  "nats-auth",
  "nats-mode",
  "leaf-hub-url",
  "leaf-port",
  "heartbeat-interval-ms",
  "inventory-interval-ms",
  "inventory-debounce-ms",
  "inventory-resync-ms",
];

const envName = (option: OptionName): string => `STACKYARD_AGENT_${option.toUpperCase().replaceAll("-", "_")}`;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

export function parseAgentConfig(argv: string[], env: Env): AgentConfig {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new AgentConfigError([(err as Error).message]);
  }
  const [command, ...extra] = parsed.positionals;
  if (command === undefined || command === "help" || command === "--help") return { command: "help" };
  if (command === "version") return { command: "version" };
  const problems: string[] = [];
  if (command !== "register" && command !== "run") {
    throw new AgentConfigError([`unknown command "${command}" (expected register, run, help or version)`]);
  }
  if (extra.length > 0) problems.push(`unexpected arguments: ${extra.join(" ")}`);
  const wrongFlags = (command === "register" ? RUN_ONLY : REGISTER_ONLY).filter((o) => parsed.values[o] !== undefined);
  for (const flag of wrongFlags) problems.push(`--${flag} does not apply to "${command}"`);

  const value = (option: OptionName): string | undefined => {
    const flag = parsed.values[option];
    if (typeof flag === "string") return flag.trim() || undefined;
    return env[envName(option)]?.trim() || undefined;
  };
  const flag = (option: OptionName): boolean => {
    if (parsed.values[option] === true) return true;
    const raw = env[envName(option)]?.trim().toLowerCase();
    if (raw === undefined || raw === "" || raw === "false" || raw === "0") return false;
    if (raw === "true" || raw === "1") return true;
    problems.push(`${envName(option)} must be true or false (got "${raw}")`);
    return false;
  };
  const int = (option: OptionName, fallback: number, min: number, max: number): number => {
    const raw = value(option);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`--${option} / ${envName(option)} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };
  const path = (option: OptionName, fallback: string): string => {
    const raw = value(option) ?? fallback;
    if (!raw.startsWith("/")) problems.push(`--${option} / ${envName(option)} must be an absolute path (got "${raw}")`);
    return raw;
  };

  const logLevel = value("log-level") ?? "info";
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`--log-level / ${envName("log-level")} must be one of ${LOG_LEVELS.join(", ")} (got "${logLevel}")`);
  }
  const common: Common = {
    stateDir: path("state-dir", DEFAULT_STATE_DIR),
    dockerSocket: path(
      "docker-socket",
      (value("docker-socket") === undefined ? dockerHostSocket(env.DOCKER_HOST, problems) : undefined) ??
        DEFAULT_DOCKER_SOCKET,
    ),
    logLevel: logLevel as LogLevel,
  };

  if (command === "register") {
    const url = value("url");
    const token = value("token");
    const allowHttp = flag("allow-http");
    let base = "";
    if (!url) problems.push(`--url / ${envName("url")} is required (the control plane's base URL)`);
    else {
      try {
        const u = new URL(url);
        if (u.protocol !== "https:" && u.protocol !== "http:") problems.push(`--url must be https (got ${u.protocol})`);
        else if (u.protocol === "http:" && !allowHttp && !LOOPBACK.has(u.hostname)) {
          problems.push("--url must be https: the registration token travels in it (use --allow-http for development)");
        }
        if (u.username || u.password) problems.push("--url must not contain credentials");
        base = u.toString().replace(/\/+$/, "");
      } catch {
        problems.push(`--url is not a valid URL`);
      }
    }
    if (!token) problems.push(`--token / ${envName("token")} is required (the one-time registration token)`);
    if (problems.length > 0) throw new AgentConfigError(problems);
    return { command, ...common, url: base, token: token ?? "", force: flag("force") };
  }

  const natsAuthRaw = value("nats-auth") ?? "jwt";
  if (natsAuthRaw !== "jwt" && natsAuthRaw !== "none") {
    problems.push(`--nats-auth / ${envName("nats-auth")} must be jwt or none (got "${natsAuthRaw}")`);
  }
  const natsUrlsRaw = value("nats-url");
  const natsUrls = natsUrlsRaw
    ? natsUrlsRaw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : null;
  for (const problem of insecureNatsUrls(natsUrls ?? [])) problems.push(`--nats-url: ${problem}`);
  if (natsAuthRaw === "none" && natsUrls === null) {
    problems.push("--nats-auth none needs --nats-url: only a local leaf node accepts the agent without credentials");
  }
  const natsModeRaw = value("nats-mode") ?? "direct";
  if (natsModeRaw !== "direct" && natsModeRaw !== "leaf") {
    problems.push(`--nats-mode / ${envName("nats-mode")} must be direct or leaf (got "${natsModeRaw}")`);
  }
  const leafHubUrl = value("leaf-hub-url") ?? null;
  if (natsModeRaw === "leaf") {
    if (natsUrls !== null)
      problems.push("--nats-url does not apply to --nats-mode leaf: the agent connects to its leaf");
    if (value("nats-auth") !== undefined) problems.push("--nats-auth does not apply to --nats-mode leaf");
    if (leafHubUrl === null) {
      problems.push(`--nats-mode leaf needs --leaf-hub-url / ${envName("leaf-hub-url")} (the hub's leafnode listener)`);
    } else if (!/^tls:\/\/[^\s/@]+:\d+$/.test(leafHubUrl)) {
      problems.push(`--leaf-hub-url must be tls://host:port: the leaf's link to the hub is TLS (got "${leafHubUrl}")`);
    }
  } else {
    if (leafHubUrl !== null) problems.push("--leaf-hub-url applies to --nats-mode leaf only");
    if (value("leaf-port") !== undefined) problems.push("--leaf-port applies to --nats-mode leaf only");
  }
  const leaf = natsModeRaw === "leaf";
  const config: RunConfig = {
    command,
    ...common,
    natsUrls,
    natsAuth: leaf || natsAuthRaw === "none" ? "none" : "jwt",
    natsMode: leaf ? "leaf" : "direct",
    leafHubUrl: leaf ? leafHubUrl : null,
    leafPort: int("leaf-port", DEFAULT_LEAF_PORT, 1, 65_535),
    heartbeatIntervalMs: int("heartbeat-interval-ms", DEFAULT_HEARTBEAT_INTERVAL_MS, 1_000, 300_000),
    inventoryIntervalMs: int("inventory-interval-ms", DEFAULT_INVENTORY_INTERVAL_MS, 5_000, 3_600_000),
    inventoryDebounceMs: int("inventory-debounce-ms", DEFAULT_INVENTORY_DEBOUNCE_MS, 100, 60_000),
    inventoryResyncMs: int("inventory-resync-ms", DEFAULT_INVENTORY_RESYNC_MS, 60_000, 24 * 3_600_000),
  };
  if (config.inventoryDebounceMs >= config.inventoryIntervalMs) {
    problems.push("the inventory debounce must be shorter than the inventory interval");
  }
  if (problems.length > 0) throw new AgentConfigError(problems);
  return config;
}

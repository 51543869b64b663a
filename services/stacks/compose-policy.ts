/**
 * The compose policy: which parts of a compose file may reach a cluster. Pure functions over a parsed compose
 * document (anchors and merge keys already resolved by the parser), used at release upload and again on the
 * rendered desired state just before a deployment is dispatched.
 *
 * Three rules always apply, because `docker stack deploy` would read the agent host's own files or mount them
 * into a container: `local-file` (secrets|configs.*.file and .environment), `env-file`, and `bind-mount` (a bind whose source is
 * not under the allow-list, is relative, or uses `$VAR` interpolation, which the docker CLI resolves from the
 * agent's environment). The others are on by default and an admin may switch them off per org or per cluster.
 */
import { posix } from "node:path";
import { UnprocessableError } from "../_shared/errors.js";
import { isJsonObject, type JsonObject, type JsonValue } from "./json.js";

export const ALWAYS_RULES = ["local-file", "env-file", "bind-mount"] as const;
export const OPTIONAL_RULES = [
  "privileged",
  "cap-add",
  "docker-socket",
  "root-bind",
  "host-network",
  "host-pid",
  "host-ipc",
  "devices",
  "manager-placement",
] as const;
export type AlwaysRule = (typeof ALWAYS_RULES)[number];
export type OptionalRule = (typeof OPTIONAL_RULES)[number];
export type PolicyRule = AlwaysRule | OptionalRule;

export const RULE_DESCRIPTIONS: Readonly<Record<PolicyRule, string>> = {
  "local-file": "secrets and configs read from the agent host (`file:`, `environment:`)",
  "env-file": "`env_file`, read on the agent host",
  "bind-mount": "bind mounts whose source is not under the allow-list (relative paths and `$VAR` sources included)",
  privileged: "`privileged: true`",
  "cap-add": "added Linux capabilities (`cap_add`)",
  "docker-socket": "bind mounts of the Docker socket (or a directory holding it)",
  "root-bind": "bind mounts of the host's `/`",
  "host-network": "the host network (`network_mode: host`, or the external `host` network)",
  "host-pid": "the host PID namespace (`pid: host`)",
  "host-ipc": "the host IPC namespace (`ipc: host`)",
  devices: "host devices (`devices`)",
  "manager-placement": "placement on manager nodes (`node.role == manager`)",
};

/** The policy in effect for one check: every optional rule on or off, and the bind-mount allow-list. */
export interface EffectivePolicy {
  rules: Record<OptionalRule, boolean>;
  /** Absolute, normalised host paths; a bind source equal to one or below it is allowed. */
  bindAllowList: string[];
}

/** A cluster's differences from its org's policy: a rule it sets wins, an allow-list replaces the org's. */
export interface PolicyOverride {
  rules: Partial<Record<OptionalRule, boolean>>;
  bindAllowList: string[] | null;
}

export const DEFAULT_POLICY: EffectivePolicy = {
  rules: Object.fromEntries(OPTIONAL_RULES.map((r) => [r, true])) as Record<OptionalRule, boolean>,
  bindAllowList: [],
};

export interface PolicyViolation {
  rule: PolicyRule;
  /** Where in the compose document, e.g. `services.web.volumes[0]`. */
  path: string;
  message: string;
}

export const COMPOSE_POLICY_VIOLATION = "COMPOSE_POLICY_VIOLATION";

export class ComposePolicyError extends UnprocessableError {
  constructor(
    readonly violations: PolicyViolation[],
    context: string,
  ) {
    super(COMPOSE_POLICY_VIOLATION, policyMessage(violations, context), { violations });
  }
}

/** One line a person reads: what was checked, then every violation with its rule and path. */
export function policyMessage(violations: PolicyViolation[], context: string): string {
  const list = violations.map((v) => `${v.path} (${v.rule}): ${v.message}`).join("; ");
  return `the compose file violates the ${context}: ${list}`;
}

export function effectivePolicy(org: EffectivePolicy, override: PolicyOverride | null): EffectivePolicy {
  if (!override) return org;
  return {
    rules: { ...org.rules, ...override.rules },
    bindAllowList: override.bindAllowList ?? org.bindAllowList,
  };
}

/**
 * The loosest of several policies: a rule is on only when every policy has it on, and the allow-lists are
 * joined. A release upload is checked against this (org + each cluster override), so it is refused when no
 * cluster of the org could ever deploy it; the deploy check then uses the environment's own cluster.
 */
export function loosestPolicy(policies: EffectivePolicy[]): EffectivePolicy {
  if (policies.length === 0) return DEFAULT_POLICY;
  return {
    rules: Object.fromEntries(OPTIONAL_RULES.map((r) => [r, policies.every((p) => p.rules[r])])) as Record<
      OptionalRule,
      boolean
    >,
    bindAllowList: [...new Set(policies.flatMap((p) => p.bindAllowList))].sort(),
  };
}

/** Refuses an allow-list entry that is not an absolute, normalised path (so prefix checks mean what they say). */
export function normaliseAllowListEntry(entry: string): string | null {
  if (!entry.startsWith("/") || entry.includes("$") || entry.includes("\0")) return null;
  const normalised = posix.normalize(entry).replace(/(.)\/+$/, "$1");
  return normalised;
}

export function checkComposePolicy(document: JsonObject, policy: EffectivePolicy): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  const on = (rule: PolicyRule) =>
    (ALWAYS_RULES as readonly string[]).includes(rule) || policy.rules[rule as OptionalRule];
  const add = (rule: PolicyRule, path: string, message: string) => {
    if (on(rule)) out.push({ rule, path, message });
  };

  for (const kind of ["secrets", "configs"] as const) {
    for (const [name, spec] of entries(document[kind])) {
      if (isJsonObject(spec) && spec.file !== undefined && spec.file !== null) {
        add(
          "local-file",
          `${kind}.${name}.file`,
          `${kind}.${name} reads a file on the agent host: use environment secrets or external: true`,
        );
      }
      if (isJsonObject(spec) && spec.environment !== undefined && spec.environment !== null) {
        add(
          "local-file",
          `${kind}.${name}.environment`,
          `${kind}.${name} reads a variable of the agent's environment: use environment secrets or external: true`,
        );
      }
    }
  }

  const topVolumes = isJsonObject(document.volumes) ? document.volumes : {};
  for (const [name, spec] of Object.entries(topVolumes)) {
    const device = localBindDevice(spec);
    if (device !== null) checkBindSource(device, `volumes.${name}.driver_opts.device`, policy, add);
  }

  const hostNetworks = hostNetworkKeys(document.networks);
  for (const [name, service] of entries(document.services)) {
    if (!isJsonObject(service)) continue;
    const at = `services.${name}`;
    if (service.env_file !== undefined && service.env_file !== null) {
      add("env-file", `${at}.env_file`, "env_file is read on the agent host: use environment overlays");
    }
    if (isTruthy(service.privileged))
      add("privileged", `${at}.privileged`, "privileged containers have full access to the host");
    if (nonEmpty(service.cap_add)) {
      add("cap-add", `${at}.cap_add`, `adds capabilities: ${listOf(service.cap_add)}`);
    }
    if (nonEmpty(service.devices)) add("devices", `${at}.devices`, `maps host devices: ${listOf(service.devices)}`);
    if (service.network_mode === "host") add("host-network", `${at}.network_mode`, "uses the host network");
    if (service.pid === "host") add("host-pid", `${at}.pid`, "uses the host PID namespace");
    if (service.ipc === "host") add("host-ipc", `${at}.ipc`, "uses the host IPC namespace");
    const networks = service.networks;
    if (Array.isArray(networks)) {
      networks.forEach((n, i) => {
        if (typeof n === "string" && hostNetworks.has(n))
          add("host-network", `${at}.networks[${i}]`, `attaches to the host network ("${n}")`);
      });
    } else if (isJsonObject(networks)) {
      for (const key of Object.keys(networks)) {
        if (hostNetworks.has(key))
          add("host-network", `${at}.networks.${key}`, `attaches to the host network ("${key}")`);
      }
    }
    const volumes = Array.isArray(service.volumes) ? service.volumes : [];
    volumes.forEach((volume, i) => {
      const source = bindSource(volume, topVolumes);
      if (source !== null) checkBindSource(source, `${at}.volumes[${i}]`, policy, add);
    });
    const deploy = isJsonObject(service.deploy) ? service.deploy : {};
    const placement = isJsonObject(deploy.placement) ? deploy.placement : {};
    const constraints = Array.isArray(placement.constraints) ? placement.constraints : [];
    constraints.forEach((c, i) => {
      if (typeof c === "string" && MANAGER_CONSTRAINT.test(c)) {
        add("manager-placement", `${at}.deploy.placement.constraints[${i}]`, `places tasks on manager nodes ("${c}")`);
      }
    });
  }
  return out;
}

/** Throws ComposePolicyError listing every violation. */
export function assertComposePolicy(document: JsonObject, policy: EffectivePolicy, context: string): void {
  const violations = checkComposePolicy(document, policy);
  if (violations.length > 0) throw new ComposePolicyError(violations, context);
}

const MANAGER_CONSTRAINT = /node\.role\s*(?:==\s*manager|!=\s*worker)\b/i;
const DOCKER_SOCKET_PATHS = ["/var/run/docker.sock", "/run/docker.sock"];

type Add = (rule: PolicyRule, path: string, message: string) => void;

function checkBindSource(raw: string, path: string, policy: EffectivePolicy, add: Add): void {
  // `$$` is compose's literal dollar; any other `$` is interpolated by the docker CLI on the agent host.
  if (raw.replaceAll("$$", "").includes("$")) {
    add("bind-mount", path, `the bind source "${raw}" uses variable interpolation, resolved on the agent host`);
    return;
  }
  const source = raw.replaceAll("$$", "$");
  if (!source.startsWith("/")) {
    add("bind-mount", path, `the bind source "${source}" is a relative path, resolved on the agent host`);
    return;
  }
  const normalised = posix.normalize(source).replace(/(.)\/+$/, "$1");
  if (normalised === "/") add("root-bind", path, "binds the host's root directory");
  if (
    DOCKER_SOCKET_PATHS.some(
      (sock) => sock === normalised || sock.startsWith(`${normalised === "/" ? "" : normalised}/`),
    ) ||
    normalised.endsWith("/docker.sock")
  ) {
    add("docker-socket", path, `binds the Docker socket ("${source}"): root on the host`);
  }
  const allowed = policy.bindAllowList.some(
    (entry) => normalised === entry || normalised.startsWith(entry === "/" ? "/" : `${entry}/`),
  );
  if (!allowed) {
    const list = policy.bindAllowList.length > 0 ? policy.bindAllowList.join(", ") : "empty";
    add("bind-mount", path, `the bind source "${source}" is not under the allow-list (${list})`);
  }
}

/**
 * The host path a service volume binds, or null for named volumes, tmpfs and the like. Short syntax
 * `src:dst[:mode]` is a bind when `src` looks like a path (`/`, `.`, `~`, a `$VAR`, or contains `/`); a named
 * volume that is a local-driver bind (`o: bind`) binds its `device`, which is checked at its declaration.
 */
function bindSource(volume: JsonValue, topVolumes: JsonObject): string | null {
  if (typeof volume === "string") {
    const parts = volume.split(":");
    if (parts.length < 2) return null; // an anonymous volume: `/data`
    const source = parts[0] ?? "";
    if (source === "") return null;
    if (
      source.startsWith("/") ||
      source.startsWith(".") ||
      source.startsWith("~") ||
      source.includes("/") ||
      source.includes("$")
    ) {
      return source;
    }
    return null;
  }
  if (!isJsonObject(volume)) return null;
  const source = typeof volume.source === "string" ? volume.source : null;
  if (volume.type === "bind") return source ?? "";
  if ((volume.type === undefined || volume.type === "volume") && source !== null && !(source in topVolumes)) {
    // A `volume` mount of an undeclared name that looks like a path is read as a bind by the CLI.
    if (source.startsWith("/") || source.startsWith(".") || source.startsWith("~") || source.includes("$"))
      return source;
  }
  return null;
}

/** `driver_opts: { type: none, o: bind, device: /path }` on the local driver makes a named volume a bind mount. */
function localBindDevice(spec: JsonValue): string | null {
  if (!isJsonObject(spec) || !isJsonObject(spec.driver_opts)) return null;
  if (spec.driver !== undefined && spec.driver !== null && spec.driver !== "local") return null;
  const { o, device } = spec.driver_opts;
  if (typeof device !== "string") return null;
  const options = typeof o === "string" ? o.split(",").map((s) => s.trim()) : [];
  return options.includes("bind") || options.includes("rbind") ? device : null;
}

/** Keys of top-level networks that are the host network: `external` with the name `host` (or the key `host`). */
function hostNetworkKeys(networks: JsonValue | undefined): Set<string> {
  const out = new Set<string>();
  for (const [key, spec] of entries(networks)) {
    if (!isJsonObject(spec)) continue;
    const external = spec.external;
    const isExternal = external === true || external === "true" || isJsonObject(external);
    if (!isExternal) continue;
    const name =
      typeof spec.name === "string"
        ? spec.name
        : isJsonObject(external) && typeof external.name === "string"
          ? external.name
          : key;
    if (name === "host") out.add(key);
  }
  return out;
}

function entries(value: JsonValue | undefined): Array<[string, JsonValue]> {
  return isJsonObject(value) ? Object.entries(value) : [];
}

function isTruthy(value: JsonValue | undefined): boolean {
  if (value === undefined || value === null || value === false) return false;
  if (typeof value === "string") return !/^(?:false|no|off|0|)$/i.test(value.trim());
  return value !== 0;
}

function nonEmpty(value: JsonValue | undefined): boolean {
  return Array.isArray(value) ? value.length > 0 : value !== undefined && value !== null && value !== "";
}

function listOf(value: JsonValue | undefined): string {
  return (Array.isArray(value) ? value : [value])
    .map((v) => (typeof v === "string" ? v : JSON.stringify(v)))
    .join(", ");
}

/**
 * The desired compose of one service normalised to the shape the agent reports a live Swarm spec in
 * (nats/protocol/service-spec.ts), with compose → Swarm semantics as `docker stack deploy` applies them:
 * `command` is Args and `entrypoint` Command, env sorted `K=V`, objects prefixed `<stack>_` unless external or
 * named, sizes in bytes and NanoCPUs, durations in ns, and Swarm's defaults where the compose declares nothing
 * (so a fresh deploy compares in sync). A value this side cannot know (interpolated with `$`, a relative bind
 * path, an `env_file`) is null or left out, and is not compared.
 */
import type {
  SpecFile,
  SpecPlacement,
  SpecPort,
  SpecResources,
  SpecRestartPolicy,
  SpecUpdatePolicy,
} from "../../nats/protocol/service-spec.js";
import { userLabels } from "../../nats/protocol/service-spec.js";

export interface DesiredMount {
  type: string;
  /** Null when not known here (a relative bind path, resolved by the CLI). */
  source: string | null;
  target: string;
  readOnly: boolean;
}

export interface DesiredServiceSpec {
  /** Null when interpolated (`${TAG}`): not compared. */
  image: string | null;
  entrypoint: string[] | null;
  command: string[] | null;
  /** Null when the service reads an env_file (its content is on the agent's side). */
  env: string[] | null;
  labels: Record<string, string>;
  containerLabels: Record<string, string>;
  ports: SpecPort[] | null;
  secrets: SpecFile[];
  configs: SpecFile[];
  mounts: DesiredMount[];
  resources: SpecResources | null;
  placement: SpecPlacement;
  /** Every field filled: the compose's where declared, else Swarm's default. */
  updateConfig: Required<{ [K in keyof SpecUpdatePolicy]: NonNullable<SpecUpdatePolicy[K]> }>;
  restartPolicy: Required<{ [K in keyof SpecRestartPolicy]: NonNullable<SpecRestartPolicy[K]> }>;
  replicas: number | null;
}

/** What Swarm (through `docker stack deploy`) sets when the compose declares no update_config / restart_policy. */
export const SWARM_UPDATE_DEFAULTS: DesiredServiceSpec["updateConfig"] = {
  parallelism: 1,
  delayNs: 0,
  failureAction: "pause",
  monitorNs: 5_000_000_000,
  maxFailureRatio: 0,
  order: "stop-first",
};
export const SWARM_RESTART_DEFAULTS: DesiredServiceSpec["restartPolicy"] = {
  condition: "any",
  delayNs: 5_000_000_000,
  maxAttempts: 0,
  windowNs: 0,
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null =>
  typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : null;
const interpolated = (v: string): boolean => v.includes("$");
const byJson = <T>(a: T, b: T): number => {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Compose's `KEY=VALUE` list or mapping, as a mapping (a list entry without `=` has a null value). */
function keyValues(v: unknown): Array<[string, string | null]> {
  if (Array.isArray(v)) {
    return v.flatMap((e): Array<[string, string | null]> => {
      const s = str(e);
      if (s === null) return [];
      const i = s.indexOf("=");
      return [i < 0 ? [s, null] : [s.slice(0, i), s.slice(i + 1)]];
    });
  }
  if (isObj(v)) return Object.entries(v).map(([k, x]) => [k, x === null || x === undefined ? null : str(x)]);
  return [];
}

const labelsOf = (v: unknown): Record<string, string> =>
  userLabels(Object.fromEntries(keyValues(v).map(([k, x]) => [k, x ?? ""])));

/** Splits a command string as a POSIX shell would (quotes and backslashes), as the docker CLI does. */
export function shellSplit(input: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === "\\" && i + 1 < input.length && '"\\$`'.includes(input[i + 1]!)) cur += input[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < input.length) {
      cur += input[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

function commandOf(v: unknown): string[] | null {
  if (typeof v === "string") return v.trim() === "" ? null : shellSplit(v);
  if (Array.isArray(v)) {
    const list = v.map((x) => str(x) ?? "");
    return list.length === 0 ? null : list;
  }
  return null;
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** A Go duration (`10s`, `1m30s`, `500ms`) in nanoseconds; undefined when it is not one. */
export function durationNs(v: unknown): number | undefined {
  if (typeof v === "number") return v === 0 ? 0 : undefined;
  if (typeof v !== "string" || !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) return v === "0" ? 0 : undefined;
  let total = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return Math.round(total);
}

/** A compose size (`64M`, `1.5g`, `512mb`, a byte count) in bytes, binary units as docker's RAMInBytes. */
export function sizeBytes(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v !== "string") return undefined;
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(v.trim());
  if (!m) return undefined;
  const power = m[2] ? "kmgtp".indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.round(Number(m[1]) * 1024 ** power);
}

const nanoCpus = (v: unknown): number | undefined => {
  const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN;
  return Number.isFinite(n) ? Math.round(n * 1e9) : undefined;
};

/** Compose ports, short (`[ip:]published:target[/proto]`, ranges) or long syntax, as Swarm port configs. */
export function portsOf(v: unknown): SpecPort[] | null {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return null;
  const out: SpecPort[] = [];
  for (const p of v) {
    if (isObj(p)) {
      const target = Number(p.target);
      if (!Number.isInteger(target)) return null;
      const published = p.published === undefined || p.published === null ? null : Number(p.published);
      if (published !== null && !Number.isInteger(published)) return null;
      out.push({
        published: published || null,
        target,
        protocol: str(p.protocol) ?? "tcp",
        mode: str(p.mode) ?? "ingress",
      });
      continue;
    }
    const s = str(p);
    const m =
      s === null
        ? null
        : /^(?:(?:\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:]+\]):)?(?:(\d+)(?:-(\d+))?:)?(\d+)(?:-(\d+))?(?:\/(\w+))?$/.exec(s);
    if (!m) return null;
    const [pubFrom, pubTo, tFrom, tTo] = [m[1], m[2], m[3], m[4]].map((x) => (x === undefined ? undefined : Number(x)));
    const count = tTo !== undefined ? tTo - tFrom! + 1 : 1;
    for (let i = 0; i < count; i++) {
      const published = pubFrom === undefined ? null : pubTo !== undefined || count > 1 ? pubFrom + i : pubFrom;
      out.push({ published, target: tFrom! + i, protocol: m[5] ?? "tcp", mode: "ingress" });
    }
  }
  return out.sort(byJson);
}

/** The Swarm name of a top-level secret/config/volume: its `name`, the key when external, else `<stack>_<key>`. */
function objectName(top: unknown, key: string, stack: string): string {
  const def = isObj(top) ? top[key] : undefined;
  if (isObj(def)) {
    const name = str(def.name);
    if (name) return name;
    if (def.external === true || (isObj(def.external) && str(def.external.name) === null)) return key;
    if (isObj(def.external) && str(def.external.name)) return str(def.external.name)!;
  }
  return `${stack}_${key}`;
}

function filesOf(v: unknown, top: unknown, stack: string): SpecFile[] {
  if (!Array.isArray(v)) return [];
  return v
    .flatMap((f): SpecFile[] => {
      const key = isObj(f) ? str(f.source) : str(f);
      if (!key) return [];
      const target = (isObj(f) && str(f.target)) || key;
      return [{ source: objectName(top, key, stack), target }];
    })
    .sort(byJson);
}

function mountsOf(v: unknown, topVolumes: unknown, stack: string): DesiredMount[] {
  if (!Array.isArray(v)) return [];
  const isPath = (s: string) => s.startsWith("/") || s.startsWith(".") || s.startsWith("~");
  return v
    .flatMap((m): DesiredMount[] => {
      if (isObj(m)) {
        const type = str(m.type) ?? "volume";
        const target = str(m.target) ?? "";
        const src = str(m.source);
        const source =
          type === "volume"
            ? src
              ? objectName(topVolumes, src, stack)
              : ""
            : type === "bind"
              ? src && src.startsWith("/")
                ? src
                : null
              : (src ?? "");
        return [{ type, source, target, readOnly: m.read_only === true }];
      }
      const s = str(m);
      if (!s) return [];
      const parts = s.split(":");
      if (parts.length === 1) return [{ type: "volume", source: "", target: parts[0]!, readOnly: false }];
      const [src, target, mode] = parts as [string, string, string | undefined];
      const readOnly = (mode ?? "").split(",").includes("ro");
      if (isPath(src)) return [{ type: "bind", source: src.startsWith("/") ? src : null, target, readOnly }];
      return [{ type: "volume", source: objectName(topVolumes, src, stack), target, readOnly }];
    })
    .sort(byJson);
}

function resourcesOf(v: unknown): SpecResources | null {
  const r = isObj(v) ? v : {};
  const limits = isObj(r.limits) ? r.limits : {};
  const reserve = isObj(r.reservations) ? r.reservations : {};
  const values = [
    limits.cpus === undefined ? 0 : nanoCpus(limits.cpus),
    limits.memory === undefined ? 0 : sizeBytes(limits.memory),
    reserve.cpus === undefined ? 0 : nanoCpus(reserve.cpus),
    reserve.memory === undefined ? 0 : sizeBytes(reserve.memory),
  ];
  const [limitNanoCpus, limitMemoryBytes, reserveNanoCpus, reserveMemoryBytes] = values;
  if (
    limitNanoCpus === undefined ||
    limitMemoryBytes === undefined ||
    reserveNanoCpus === undefined ||
    reserveMemoryBytes === undefined
  )
    return null;
  return { limitNanoCpus, limitMemoryBytes, reserveNanoCpus, reserveMemoryBytes };
}

function placementOf(v: unknown): SpecPlacement {
  const p = isObj(v) ? v : {};
  const list = (x: unknown) => (Array.isArray(x) ? x.map((e) => str(e) ?? "") : []);
  return {
    constraints: list(p.constraints).sort(),
    preferences: (Array.isArray(p.preferences) ? p.preferences : []).flatMap((e) =>
      isObj(e) && str(e.spread) ? [str(e.spread)!] : [],
    ),
    maxReplicasPerNode: typeof p.max_replicas_per_node === "number" ? p.max_replicas_per_node : 0,
  };
}

function updateConfigOf(v: unknown): DesiredServiceSpec["updateConfig"] {
  const u = isObj(v) ? v : {};
  return {
    parallelism: typeof u.parallelism === "number" ? u.parallelism : SWARM_UPDATE_DEFAULTS.parallelism,
    delayNs: durationNs(u.delay) ?? SWARM_UPDATE_DEFAULTS.delayNs,
    failureAction: str(u.failure_action) ?? SWARM_UPDATE_DEFAULTS.failureAction,
    monitorNs: durationNs(u.monitor) ?? SWARM_UPDATE_DEFAULTS.monitorNs,
    maxFailureRatio: typeof u.max_failure_ratio === "number" ? u.max_failure_ratio : 0,
    order: str(u.order) ?? SWARM_UPDATE_DEFAULTS.order,
  };
}

/** deploy.restart_policy, else the service's `restart:` as the CLI converts it, else Swarm's defaults. */
function restartPolicyOf(policy: unknown, restart: unknown): DesiredServiceSpec["restartPolicy"] {
  if (isObj(policy)) {
    return {
      condition: str(policy.condition) ?? SWARM_RESTART_DEFAULTS.condition,
      delayNs: durationNs(policy.delay) ?? SWARM_RESTART_DEFAULTS.delayNs,
      maxAttempts: typeof policy.max_attempts === "number" ? policy.max_attempts : 0,
      windowNs: durationNs(policy.window) ?? 0,
    };
  }
  const r = str(restart);
  if (r === "no") return { ...SWARM_RESTART_DEFAULTS, condition: "none" };
  if (r?.startsWith("on-failure")) {
    const n = Number(r.split(":")[1] ?? 0);
    return { ...SWARM_RESTART_DEFAULTS, condition: "on-failure", maxAttempts: Number.isInteger(n) ? n : 0 };
  }
  return { ...SWARM_RESTART_DEFAULTS };
}

/** Each service of a rendered compose document, as the Swarm spec `docker stack deploy` would give it. */
export function desiredServiceSpecs(document: unknown, stackName: string): Record<string, DesiredServiceSpec> {
  const doc = isObj(document) ? document : {};
  const services = isObj(doc.services) ? doc.services : {};
  const out: Record<string, DesiredServiceSpec> = {};
  for (const [name, raw] of Object.entries(services)) {
    const svc = isObj(raw) ? raw : {};
    const deploy = isObj(svc.deploy) ? svc.deploy : {};
    const image = str(svc.image);
    const env =
      svc.env_file !== undefined
        ? null
        : keyValues(svc.environment)
            .map(([k, x]) => (x === null ? k : `${k}=${x}`))
            .sort();
    out[name] = {
      image: image === null || interpolated(image) ? null : image,
      entrypoint: commandOf(svc.entrypoint),
      command: commandOf(svc.command),
      env,
      labels: labelsOf(deploy.labels),
      containerLabels: labelsOf(svc.labels),
      ports: portsOf(svc.ports),
      secrets: filesOf(svc.secrets, doc.secrets, stackName),
      configs: filesOf(svc.configs, doc.configs, stackName),
      mounts: mountsOf(svc.volumes, doc.volumes, stackName),
      resources: resourcesOf(deploy.resources),
      placement: placementOf(deploy.placement),
      updateConfig: updateConfigOf(deploy.update_config),
      restartPolicy: restartPolicyOf(deploy.restart_policy, svc.restart),
      replicas: deploy.mode === "global" ? null : typeof deploy.replicas === "number" ? deploy.replicas : 1,
    };
  }
  return out;
}

/**
 * Field-by-field drift of one service: its desired spec (desired-spec.ts) against the live one the agent
 * reported (nats/protocol/service-spec.ts). Each differing field gives one DriftField with a summary a person
 * reads ("env X=1 added"); a field the desired side could not know (null) is not compared.
 */
import type { components } from "../../openapi/openapi.gen.js";
import type { LiveServiceSpec, SpecRestartPolicy, SpecUpdatePolicy } from "../../nats/protocol/service-spec.js";
import type { DesiredMount, DesiredServiceSpec } from "./desired-spec.js";
import { SWARM_RESTART_DEFAULTS, SWARM_UPDATE_DEFAULTS } from "./desired-spec.js";

/** One schema, one type: the status API's DriftField (openapi.yaml). */
export type DriftField = components["schemas"]["DriftField"];
export type DriftFieldName = DriftField["field"];

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const short = (v: string): string => (v.length > 60 ? `${v.slice(0, 57)}…` : v);

interface ImageRef {
  /** Repository with the registry made familiar (`nginx`, `ghcr.io/a/b`). */
  name: string;
  tag: string | null;
  digest: string | null;
}

/** Splits `[registry/]name[:tag][@sha256:…]`, `docker.io/library/` dropped, as Docker names familiar images. */
export function parseImage(ref: string): ImageRef {
  const at = ref.indexOf("@");
  const digest = at >= 0 ? ref.slice(at + 1) : null;
  let rest = at >= 0 ? ref.slice(0, at) : ref;
  let tag: string | null = null;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  rest = rest.replace(/^(docker\.io|index\.docker\.io)\//, "").replace(/^library\//, "");
  return { name: rest, tag, digest };
}

/**
 * Digest-aware: a desired digest must be the live one; a desired tag (none meaning `latest`) matches the live
 * tag whatever digest Swarm pinned it to.
 */
export function imageMatches(desired: string, live: string): boolean {
  const d = parseImage(desired);
  const l = parseImage(live);
  if (d.name !== l.name) return false;
  if (d.digest) return d.digest === l.digest && (d.tag === null || l.tag === null || d.tag === l.tag);
  return (d.tag ?? "latest") === (l.tag ?? (l.digest ? (d.tag ?? "latest") : "latest"));
}

const stripDigest = (image: string): string => image.split("@")[0] ?? image;

/** Added / removed / changed entries of two `key → value` views, as summaries. */
function mapDiff(noun: string, desired: Map<string, string>, live: Map<string, string>, showValues: boolean) {
  const out: string[] = [];
  for (const [k, v] of live) {
    if (!desired.has(k)) out.push(`${noun} ${showValues ? short(`${k}=${v}`) : k} added`);
    else if (desired.get(k) !== v) out.push(`${noun} ${k} changed`);
  }
  for (const k of desired.keys()) if (!live.has(k)) out.push(`${noun} ${k} removed`);
  return out;
}

const envMap = (list: string[]): Map<string, string> =>
  new Map(list.map((e) => (e.includes("=") ? [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)] : [e, ""])));

/** Desired env entries whose value is interpolated (`$VAR`) take the live value: only their presence counts. */
function envDrift(desired: string[], live: string[]): string[] {
  const want = envMap(desired);
  const have = envMap(live);
  for (const [k, v] of want) if (v.includes("$") && have.has(k)) want.set(k, have.get(k)!);
  return mapDiff("env", want, have, true);
}

function listDrift<T>(
  noun: string,
  desired: T[],
  live: T[],
  label: (x: T) => string,
  matches: (d: T, l: T) => boolean = same,
): string[] {
  const out: string[] = [];
  const rest = [...desired];
  for (const l of live) {
    const i = rest.findIndex((d) => matches(d, l));
    if (i >= 0) rest.splice(i, 1);
    else out.push(`${noun} ${label(l)} added`);
  }
  for (const d of rest) out.push(`${noun} ${label(d)} removed`);
  return out;
}

const portLabel = (p: { published: number | null; target: number; protocol: string; mode: string }): string =>
  `${p.published === null ? "" : `${p.published}:`}${p.target}/${p.protocol}${p.mode === "host" ? " (host)" : ""}`;
const mountMatches = (d: DesiredMount, l: DesiredMount): boolean =>
  d.type === l.type &&
  d.target === l.target &&
  d.readOnly === l.readOnly &&
  (d.source === null || d.source === l.source);

/** Policy fields Swarm left unset (null) are its defaults. */
function policyDrift<T extends object>(noun: string, desired: T, live: T | null, defaults: T): string[] {
  const have = { ...defaults } as Record<string, unknown>;
  for (const [k, v] of Object.entries(live ?? {})) if (v !== null) have[k] = v;
  return Object.entries(desired)
    .filter(([k, v]) => !same(v, have[k]))
    .map(([k, v]) => `${noun}.${k} ${String(have[k])} ≠ desired ${String(v)}`);
}

const RESOURCE_NAMES: Record<string, string> = {
  limitNanoCpus: "limits.cpus",
  limitMemoryBytes: "limits.memory",
  reserveNanoCpus: "reservations.cpus",
  reserveMemoryBytes: "reservations.memory",
};
const resourceValue = (k: string, v: number): string =>
  k.endsWith("NanoCpus") ? String(v / 1e9) : v === 0 ? "0" : `${Math.round(v / 1024 / 1024)}MiB`;

/** Every field of the service that differs, in the order of the compose file's sections. */
export function compareServiceSpec(desired: DesiredServiceSpec, live: LiveServiceSpec): DriftField[] {
  const out: DriftField[] = [];
  const add = (field: DriftFieldName, want: unknown, have: unknown, summaries: string[]) => {
    if (summaries.length > 0) out.push({ field, desired: want, live: have, summary: summaries.join(", ") });
  };
  if (desired.image !== null && !imageMatches(desired.image, live.image)) {
    add("image", desired.image, live.image, [`image ${stripDigest(live.image)} ≠ desired ${desired.image}`]);
  }
  for (const field of ["entrypoint", "command"] as const) {
    if (!same(desired[field], live[field]) && !JSON.stringify(desired[field]).includes("$")) {
      add(field, desired[field], live[field], [
        `${field} ${JSON.stringify(live[field])} ≠ desired ${JSON.stringify(desired[field])}`,
      ]);
    }
  }
  if (desired.env !== null) add("env", desired.env, live.env, envDrift(desired.env, live.env));
  for (const [field, noun] of [
    ["labels", "label"],
    ["containerLabels", "container label"],
  ] as const) {
    const want = new Map(Object.entries(desired[field]));
    const have = new Map(Object.entries(live[field]));
    add(field, desired[field], live[field], mapDiff(noun, want, have, true));
  }
  if (desired.ports !== null)
    add("ports", desired.ports, live.ports, listDrift("port", desired.ports, live.ports, portLabel));
  add(
    "secrets",
    desired.secrets,
    live.secrets,
    listDrift("secret", desired.secrets, live.secrets, (f) => `${f.target} (${f.source})`),
  );
  add(
    "configs",
    desired.configs,
    live.configs,
    listDrift("config", desired.configs, live.configs, (f) => `${f.target} (${f.source})`),
  );
  add(
    "mounts",
    desired.mounts,
    live.mounts,
    listDrift<DesiredMount>(
      "mount",
      desired.mounts,
      live.mounts,
      (m) => `${m.target}${m.readOnly ? " (ro)" : ""}`,
      mountMatches,
    ),
  );
  if (desired.resources !== null) {
    const want = desired.resources;
    const have = live.resources;
    const keys = Object.keys(RESOURCE_NAMES) as Array<keyof typeof want>;
    add(
      "resources",
      want,
      have,
      keys
        .filter((k) => want[k] !== have[k])
        .map((k) => `${RESOURCE_NAMES[k]} ${resourceValue(k, have[k])} ≠ desired ${resourceValue(k, want[k])}`),
    );
  }
  {
    const want = desired.placement;
    const have = live.placement;
    const s: string[] = [];
    s.push(...listDrift("constraint", want.constraints, have.constraints, (c) => c));
    if (!same(want.preferences, have.preferences)) s.push(`placement preferences changed`);
    if (want.maxReplicasPerNode !== have.maxReplicasPerNode) {
      s.push(`max_replicas_per_node ${have.maxReplicasPerNode} ≠ desired ${want.maxReplicasPerNode}`);
    }
    add("placement", want, have, s);
  }
  add(
    "updateConfig",
    desired.updateConfig,
    live.updateConfig,
    policyDrift<SpecUpdatePolicy>("update_config", desired.updateConfig, live.updateConfig, SWARM_UPDATE_DEFAULTS),
  );
  add(
    "restartPolicy",
    desired.restartPolicy,
    live.restartPolicy,
    policyDrift<SpecRestartPolicy>("restart_policy", desired.restartPolicy, live.restartPolicy, SWARM_RESTART_DEFAULTS),
  );
  if (desired.replicas !== live.replicas) {
    add("replicas", desired.replicas, live.replicas, [
      desired.replicas === null || live.replicas === null
        ? `mode ${live.replicas === null ? "global" : "replicated"} ≠ desired ${desired.replicas === null ? "global" : "replicated"}`
        : `replicas ${live.replicas} ≠ desired ${desired.replicas}`,
    ]);
  }
  return out;
}

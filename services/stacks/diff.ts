/**
 * What changes between two rendered desired states: the unified text diff for review, and a per-service
 * summary for the UI. Environment variables are compared by key only, so values never appear in the summary
 * (they are in the unified diff, which shows the rendered files, never secret values).
 */
import { createTwoFilesPatch } from "diff";
import { parseComposeYaml } from "./compose-validation.js";
import { compareCodePoints, isJsonObject, jsonEqual, type JsonObject, type JsonValue } from "./json.js";
import { toMap } from "./overlay-merge.js";

export interface FromTo<T> {
  from: T;
  to: T;
}

export interface AddedRemoved {
  added: string[];
  removed: string[];
}

export interface ServiceChange {
  name: string;
  image?: FromTo<string | null>;
  /** A number for replicated services, the mode (`global`, `global-job`) otherwise. */
  replicas?: FromTo<number | string | null>;
  envKeys?: AddedRemoved & { changed: string[] };
  ports?: AddedRemoved;
  /** Swarm secret names, so a rotated secret shows as its old version removed and its new version added. */
  secrets?: AddedRemoved;
  networks?: AddedRemoved;
  resources?: FromTo<JsonValue>;
  /** Other service keys whose value changed (volumes, command, labels...). */
  otherKeys?: string[];
}

export interface RenderedDiff {
  unified: string;
  services: { added: string[]; removed: string[]; changed: ServiceChange[] };
}

export interface DiffLabels {
  from?: string;
  to?: string;
}

/** Keys summarised by their own field, so not repeated in otherKeys. */
const SUMMARISED_KEYS = new Set(["image", "environment", "ports", "secrets", "networks", "deploy"]);
/** Rendered state is produced by this code and bounded by release limits; diffing applies none of its own. */
const NO_SIZE_LIMIT = Number.MAX_SAFE_INTEGER;

/** An empty `fromYaml` stands for "nothing deployed yet". */
export function diffRendered(fromYaml: string, toYaml: string, labels: DiffLabels = {}): RenderedDiff {
  const unified = createTwoFilesPatch(labels.from ?? "from", labels.to ?? "to", fromYaml, toYaml);
  const from = parseRendered(fromYaml);
  const to = parseRendered(toYaml);
  const fromServices = servicesOf(from);
  const toServices = servicesOf(to);
  const fromNames = Object.keys(fromServices);
  const toNames = Object.keys(toServices);
  const changed: ServiceChange[] = [];
  for (const name of toNames.filter((n) => n in fromServices).sort(compareCodePoints)) {
    const change = diffService(name, fromServices[name] ?? {}, toServices[name] ?? {}, from, to);
    if (change) changed.push(change);
  }
  return {
    unified,
    services: {
      added: toNames.filter((n) => !(n in fromServices)).sort(compareCodePoints),
      removed: fromNames.filter((n) => !(n in toServices)).sort(compareCodePoints),
      changed,
    },
  };
}

function parseRendered(text: string): JsonObject {
  if (text.trim() === "") return {};
  const value = parseComposeYaml(text, NO_SIZE_LIMIT);
  return isJsonObject(value) ? value : {};
}

function servicesOf(document: JsonObject): Record<string, JsonObject> {
  const services = isJsonObject(document.services) ? document.services : {};
  const out: Record<string, JsonObject> = {};
  for (const [name, service] of Object.entries(services)) out[name] = isJsonObject(service) ? service : {};
  return out;
}

function diffService(
  name: string,
  a: JsonObject,
  b: JsonObject,
  fromDoc: JsonObject,
  toDoc: JsonObject,
): ServiceChange | undefined {
  const change: ServiceChange = { name };
  const image = { from: stringOrNull(a.image), to: stringOrNull(b.image) };
  if (image.from !== image.to) change.image = image;
  const replicas = { from: replicasOf(a), to: replicasOf(b) };
  if (replicas.from !== replicas.to) change.replicas = replicas;

  const envA = toMap(a.environment);
  const envB = toMap(b.environment);
  const env = addedRemoved(Object.keys(envA), Object.keys(envB));
  const envChanged = Object.keys(envB)
    .filter((k) => k in envA && !jsonEqual(envA[k], envB[k]))
    .sort(compareCodePoints);
  if (env.added.length + env.removed.length + envChanged.length > 0) change.envKeys = { ...env, changed: envChanged };

  setIfChanged(change, "ports", addedRemoved(listOf(a.ports).map(portLabel), listOf(b.ports).map(portLabel)));
  setIfChanged(change, "secrets", addedRemoved(secretNames(a, fromDoc), secretNames(b, toDoc)));
  setIfChanged(change, "networks", addedRemoved(networkNames(a.networks), networkNames(b.networks)));

  const resources = { from: deployOf(a).resources ?? null, to: deployOf(b).resources ?? null };
  if (!jsonEqual(resources.from, resources.to)) change.resources = resources;

  const otherKeys = [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => !SUMMARISED_KEYS.has(k) && !jsonEqual(a[k], b[k]))
    .sort(compareCodePoints);
  const { resources: _ra, replicas: _rpa, mode: _ma, ...deployA } = deployOf(a);
  const { resources: _rb, replicas: _rpb, mode: _mb, ...deployB } = deployOf(b);
  if (!jsonEqual(deployA, deployB)) otherKeys.push("deploy");
  if (otherKeys.length > 0) change.otherKeys = otherKeys.sort(compareCodePoints);

  return Object.keys(change).length > 1 ? change : undefined;
}

function setIfChanged(change: ServiceChange, key: "ports" | "secrets" | "networks", value: AddedRemoved): void {
  if (value.added.length + value.removed.length > 0) change[key] = value;
}

function addedRemoved(from: string[], to: string[]): AddedRemoved {
  const a = new Set(from);
  const b = new Set(to);
  return {
    added: [...b].filter((x) => !a.has(x)).sort(compareCodePoints),
    removed: [...a].filter((x) => !b.has(x)).sort(compareCodePoints),
  };
}

function stringOrNull(value: JsonValue | undefined): string | null {
  return value === undefined || value === null ? null : String(value);
}

function deployOf(service: JsonObject): JsonObject {
  return isJsonObject(service.deploy) ? service.deploy : {};
}

/** What Swarm runs: replicated services default to one replica. */
function replicasOf(service: JsonObject): number | string | null {
  const deploy = deployOf(service);
  const mode = typeof deploy.mode === "string" ? deploy.mode : "replicated";
  if (mode === "global" || mode === "global-job") return mode;
  return typeof deploy.replicas === "number" ? deploy.replicas : 1;
}

function listOf(value: JsonValue | undefined): JsonValue[] {
  return Array.isArray(value) ? value : [];
}

/** One spelling per published port: `[host_ip:]published:target/protocol[ (host)]`. */
export function portLabel(value: JsonValue): string {
  if (isJsonObject(value)) {
    const ip = typeof value.host_ip === "string" && value.host_ip !== "" ? `${value.host_ip}:` : "";
    const published = value.published === undefined || value.published === null ? "" : `${String(value.published)}:`;
    const protocol = typeof value.protocol === "string" ? value.protocol : "tcp";
    const mode = value.mode === "host" ? " (host)" : "";
    return `${ip}${published}${String(value.target ?? "")}/${protocol}${mode}`;
  }
  const text = String(value);
  return text.includes("/") ? text : `${text}/tcp`;
}

/** A service's secrets by the Swarm secret they resolve to (top-level `name`), or by source when undeclared. */
function secretNames(service: JsonObject, document: JsonObject): string[] {
  const declared = isJsonObject(document.secrets) ? document.secrets : {};
  return listOf(service.secrets).map((mount) => {
    const source = isJsonObject(mount) ? String(mount.source ?? "") : String(mount);
    const declaration = declared[source];
    return isJsonObject(declaration) && typeof declaration.name === "string" ? declaration.name : source;
  });
}

function networkNames(value: JsonValue | undefined): string[] {
  if (Array.isArray(value)) return value.map(String);
  return isJsonObject(value) ? Object.keys(value) : [];
}

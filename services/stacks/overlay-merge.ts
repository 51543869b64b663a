/**
 * An environment's overlay over a release: a compose fragment merged with compose override semantics, then
 * plain environment variables.
 *
 * Merge rules (`mergeCompose(base, patch)`), as `docker compose -f base -f patch` applies them:
 * - mappings merge recursively; scalars and values of different types are replaced by the patch;
 * - `environment`, `labels`, `deploy.labels`, `sysctls`, `extra_hosts` (list or map form) become maps and merge
 *   by key; the result is in map form;
 * - `ports` merge by (host ip, published, target, protocol), `volumes` by target path, `secrets` and `configs`
 *   by mount target, `networks` by name (list and map form mix); a patch entry with the key of a base entry
 *   replaces it in place, new entries are appended;
 * - `command`, `entrypoint` and `healthcheck.test` are replaced whole;
 * - any other list is the union of both, base order first, duplicates dropped;
 * - differing from compose: an explicit `null` in the patch removes the key (compose keeps a null), also inside
 *   `environment`/`labels`; the exception is a service's `networks` map, where `name: null` is the usual way to
 *   attach a network without options and keeps that meaning;
 * - `!reset` removes a value and `!override` replaces a value whole instead of merging it (both as in compose).
 */
import { Ajv, type JSONSchemaType } from "ajv";
import { isPair, isScalar, isSeq, visit, type Document } from "yaml";
import { UnprocessableError } from "../_shared/errors.js";
import {
  ComposeValidationError,
  DEFAULT_COMPOSE_MAX_BYTES,
  parseYamlDocument,
  yamlToJson,
} from "./compose-validation.js";
import { compareCodePoints, isJsonObject, type JsonObject, type JsonPrimitive, type JsonValue } from "./json.js";

/** A value the patch replaces whole (`!override`). */
export class ComposeOverride {
  constructor(readonly value: PatchValue) {}
}
export type PatchValue = JsonPrimitive | ComposeOverride | PatchValue[] | PatchObject;
export interface PatchObject {
  [key: string]: PatchValue;
}

const OVERRIDE_TAG = "!override";
const RESET_TAG = "!reset";

/** Keys whose list and map forms both mean a map of names to values. */
const MAP_LIKE_SERVICE_KEYS = new Set(["environment", "labels", "sysctls", "extra_hosts"]);
const REPLACED_SERVICE_KEYS = new Set(["command", "entrypoint"]);

export function mergeCompose(base: JsonObject, patch: PatchObject): JsonObject {
  const out = structuredClone(base);
  for (const [key, value] of Object.entries(patch)) {
    if (key === "services" && isPatchObject(value) && isJsonObject(out.services)) {
      out.services = mergeServices(out.services, value);
    } else {
      setMerged(out, key, value, (b, p) => mergeGeneric(b, p, []));
    }
  }
  return out;
}

function mergeServices(base: JsonObject, patch: PatchObject): JsonObject {
  const out = structuredClone(base);
  for (const [name, value] of Object.entries(patch)) {
    setMerged(out, name, value, (b, p) => (isJsonObject(b) && isPatchObject(p) ? mergeService(b, p) : resolve(p)));
  }
  return out;
}

function mergeService(base: JsonObject, patch: PatchObject): JsonObject {
  const out = structuredClone(base);
  for (const [key, value] of Object.entries(patch)) {
    setMerged(out, key, value, (b, p) => mergeServiceKey(key, b, p));
  }
  return out;
}

function mergeServiceKey(key: string, base: JsonValue, patch: PatchValue): JsonValue {
  if (REPLACED_SERVICE_KEYS.has(key)) return resolve(patch);
  if (MAP_LIKE_SERVICE_KEYS.has(key)) return mergeMapLike(key, base, patch);
  const patchList = Array.isArray(patch) ? patch.map(resolve) : undefined;
  if (Array.isArray(base) && patchList) {
    switch (key) {
      case "ports":
        return mergeKeyed(base, patchList, portKey);
      case "volumes":
        return mergeKeyed(base, patchList, volumeKey);
      case "secrets":
        return mergeKeyed(base, patchList, (v) => mountKey(v, "/run/secrets/"));
      case "configs":
        return mergeKeyed(base, patchList, (v) => mountKey(v, "/"));
      case "expose":
        return mergeKeyed(base, patchList, (v) => String(v));
    }
  }
  if (key === "networks") return mergeNetworks(base, patch);
  if (key === "healthcheck" && isJsonObject(base) && isPatchObject(patch)) {
    return mergeGeneric(base, patch, ["test"]);
  }
  if (key === "deploy" && isJsonObject(base) && isPatchObject(patch)) {
    const { labels, ...rest } = patch;
    const merged = mergeGeneric(base, rest, []) as JsonObject;
    if (labels !== undefined) setMerged(merged, "labels", labels, (b, p) => mergeMapLike("labels", b, p));
    return merged;
  }
  return mergeGeneric(base, patch, []);
}

/** Recursive merge for everything without a compose-specific rule. */
function mergeGeneric(base: JsonValue, patch: PatchValue, replacedKeys: readonly string[]): JsonValue {
  if (isJsonObject(base) && isPatchObject(patch)) {
    const out = structuredClone(base);
    for (const [key, value] of Object.entries(patch)) {
      setMerged(out, key, value, (b, p) => (replacedKeys.includes(key) ? resolve(p) : mergeGeneric(b, p, [])));
    }
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch)) {
    return mergeKeyed(base, patch.map(resolve), (v) => JSON.stringify(v));
  }
  return resolve(patch);
}

/** Applies one patch entry to `target[key]`: removal, whole replacement, or `merge` with the base value. */
function setMerged(
  target: JsonObject,
  key: string,
  value: PatchValue,
  merge: (base: JsonValue, patch: PatchValue) => JsonValue,
): void {
  if (value === null) {
    delete target[key];
    return;
  }
  if (value instanceof ComposeOverride) {
    const replacement = resolve(value.value);
    if (replacement === null) delete target[key];
    else target[key] = replacement;
    return;
  }
  const current = target[key];
  target[key] = current === undefined || current === null ? resolve(value) : merge(current, value);
}

/** A patch value as plain JSON: overrides unwrapped, null-valued (removed) keys dropped. */
function resolve(value: PatchValue): JsonValue {
  if (value instanceof ComposeOverride) return resolve(value.value);
  if (Array.isArray(value)) return value.map(resolve);
  if (!isPatchObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    // Inside a new value there is nothing to remove: a plain null stays as written (`networks: { a: null }`),
    // only a `!reset` inside it is dropped.
    if (child instanceof ComposeOverride && child.value === null) continue;
    out[key] = resolve(child);
  }
  return out;
}

function isPatchObject(value: PatchValue | undefined): value is PatchObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof ComposeOverride);
}

/** Base entries keep their position (replaced when the patch has the same key); new patch entries follow. */
function mergeKeyed(base: JsonValue[], patch: JsonValue[], keyOf: (v: JsonValue) => string): JsonValue[] {
  const out = [...base];
  const index = new Map<string, number>();
  out.forEach((item, i) => index.set(keyOf(item), i));
  for (const item of patch) {
    const key = keyOf(item);
    const at = index.get(key);
    if (at === undefined) {
      index.set(key, out.length);
      out.push(item);
    } else {
      out[at] = item;
    }
  }
  return out;
}

function mergeMapLike(key: string, base: JsonValue, patch: PatchValue): JsonValue {
  const colon = key === "extra_hosts";
  const out = toMap(base, colon);
  const patchMap = isPatchObject(patch) ? patch : toMap(resolve(patch), colon);
  for (const [name, value] of Object.entries(patchMap)) {
    const resolved = resolve(value);
    if (resolved === null) delete out[name];
    else out[name] = resolved;
  }
  return out;
}

/** `["A=1", "B"]` → `{ A: "1", B: null }`; `extra_hosts` lists may also be written `host:ip`. */
export function toMap(value: JsonValue | undefined, colonSeparated = false): JsonObject {
  if (isJsonObject(value)) return structuredClone(value);
  const out: JsonObject = {};
  if (!Array.isArray(value)) return out;
  for (const item of value) {
    const text = String(item);
    const eq = text.indexOf("=");
    const sep = eq >= 0 ? eq : colonSeparated ? text.indexOf(":") : -1;
    if (sep < 0) out[text] = null;
    else out[text.slice(0, sep)] = text.slice(sep + 1);
  }
  return out;
}

function mergeNetworks(base: JsonValue, patch: PatchValue): JsonValue {
  if (Array.isArray(base) && Array.isArray(patch)) return mergeKeyed(base, patch.map(resolve), (v) => String(v));
  const out: JsonObject = Array.isArray(base)
    ? Object.fromEntries(base.map((n) => [String(n), null]))
    : isJsonObject(base)
      ? structuredClone(base)
      : {};
  const entries: Array<[string, PatchValue]> = Array.isArray(patch)
    ? patch.map((n) => [String(resolve(n)), null])
    : isPatchObject(patch)
      ? Object.entries(patch)
      : [];
  for (const [name, value] of entries) {
    if (value instanceof ComposeOverride) {
      const replacement = resolve(value);
      if (replacement === null) delete out[name];
      else out[name] = replacement;
    } else if (value === null) {
      // In a networks map `name: null` means "attached, no options", not removal: only `!reset` removes.
      if (!(name in out)) out[name] = null;
    } else {
      const current = out[name];
      out[name] = isJsonObject(current) ? mergeGeneric(current, value, []) : resolve(value);
    }
  }
  return out;
}

/** Compose's identity of a port: host ip, published port, target port, protocol. */
function portKey(value: JsonValue): string {
  if (typeof value === "number") return `::${value}/tcp`;
  if (isJsonObject(value)) {
    const protocol = typeof value.protocol === "string" ? value.protocol : "tcp";
    return `${String(value.host_ip ?? "")}:${String(value.published ?? "")}:${String(value.target ?? "")}/${protocol}`;
  }
  const text = String(value);
  const [spec = "", protocol = "tcp"] = text.split("/");
  // The target is after the last colon; an IPv6 host address is bracketed.
  const last = spec.lastIndexOf(":");
  const target = spec.slice(last + 1);
  const front = last >= 0 ? spec.slice(0, last) : "";
  const split = front.lastIndexOf(":");
  const published = split >= 0 ? front.slice(split + 1) : front;
  const hostIp = split >= 0 ? front.slice(0, split).replace(/^\[|\]$/g, "") : "";
  return `${hostIp}:${published}:${target}/${protocol}`;
}

function volumeKey(value: JsonValue): string {
  if (isJsonObject(value)) return String(value.target ?? JSON.stringify(value));
  const parts = String(value).split(":");
  return parts.length === 1 ? (parts[0] ?? "") : (parts[1] ?? "");
}

/** Secrets and configs are keyed by where they are mounted; the short form mounts at `<prefix><name>`. */
function mountKey(value: JsonValue, prefix: string): string {
  if (isJsonObject(value)) {
    const target = typeof value.target === "string" ? value.target : String(value.source ?? "");
    return target.startsWith("/") ? target : `${prefix}${target}`;
  }
  return `${prefix}${String(value)}`;
}

/**
 * Parses an overlay's compose fragment. `!override` and `!reset` tags (compose's own) are honoured on mapping
 * values; an empty fragment is an empty patch.
 */
export function parseComposePatch(yamlText: string, maxBytes = DEFAULT_COMPOSE_MAX_BYTES): PatchObject {
  if (yamlText.trim() === "") return {};
  const doc = parseYamlDocument(yamlText, maxBytes, [OVERRIDE_TAG, RESET_TAG]);
  const markers = collectTagMarkers(doc);
  const value = yamlToJson(doc);
  if (value === null) return {};
  if (!isJsonObject(value)) {
    throw new ComposeValidationError("COMPOSE_NOT_A_MAPPING", "the compose patch must be a YAML mapping");
  }
  // Deepest first, so a marker inside an overridden value is already in place when its parent is wrapped.
  markers.sort((a, b) => b.path.length - a.path.length);
  const patch = value as PatchObject;
  for (const marker of markers) wrapAt(patch, marker.path, marker.tag);
  return patch;
}

interface TagMarker {
  path: string[];
  tag: typeof OVERRIDE_TAG | typeof RESET_TAG;
}

function collectTagMarkers(doc: Document.Parsed): TagMarker[] {
  const markers: TagMarker[] = [];
  let misplaced: string | undefined;
  visit(doc, {
    Node(key, node, ancestors) {
      const tag = node.tag;
      if (tag !== OVERRIDE_TAG && tag !== RESET_TAG) return;
      const parent = ancestors[ancestors.length - 1];
      if (key !== "value" || !isPair(parent)) {
        misplaced = tag;
        return;
      }
      const path: string[] = [];
      for (const ancestor of ancestors) {
        if (isPair(ancestor) && isScalar(ancestor.key)) path.push(String(ancestor.key.value));
        else if (isSeq(ancestor)) misplaced = tag;
      }
      // With the tag gone the node resolves as the plain value; the marker remembers what it meant.
      node.tag = undefined;
      markers.push({ path, tag });
    },
  });
  if (misplaced !== undefined) {
    throw new ComposeValidationError("COMPOSE_INVALID_YAML", `${misplaced} is only allowed on a mapping value`);
  }
  return markers;
}

function wrapAt(root: PatchObject, path: string[], tag: TagMarker["tag"]): void {
  let node: PatchValue = root;
  for (const segment of path.slice(0, -1)) {
    if (!isPatchObject(node)) return;
    node = node[segment] ?? null;
  }
  const last = path[path.length - 1];
  if (last === undefined || !isPatchObject(node)) return;
  node[last] = new ComposeOverride(tag === RESET_TAG ? null : (node[last] ?? null));
}

/** Plain variables of an environment: for every service, then per service (which wins). */
export interface EnvOverlay {
  global?: Record<string, string>;
  services?: Record<string, Record<string, string>>;
}

const ENV_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_.-]{0,255}$";
const ENV_VALUE_MAX_LENGTH = 64 * 1024;

const envVarsSchema: JSONSchemaType<Record<string, string>> = {
  type: "object",
  propertyNames: { pattern: ENV_NAME_PATTERN },
  additionalProperties: { type: "string", maxLength: ENV_VALUE_MAX_LENGTH },
  required: [],
};

export const envOverlaySchema: JSONSchemaType<EnvOverlay> = {
  type: "object",
  additionalProperties: false,
  properties: {
    global: { ...envVarsSchema, nullable: true },
    services: {
      type: "object",
      nullable: true,
      propertyNames: { pattern: "^[a-zA-Z0-9._-]+$" },
      additionalProperties: envVarsSchema,
      required: [],
    },
  },
};

const validateEnvOverlay = new Ajv({ allErrors: true }).compile(envOverlaySchema);

/** Checks an overlay's env_json on its own (at PUT time); `applyEnv` checks it again against the services. */
export function parseEnvOverlay(envJson: unknown): EnvOverlay {
  if (validateEnvOverlay(envJson)) return envJson;
  const details = (validateEnvOverlay.errors ?? []).map((e) => ({
    path: e.instancePath.split("/").slice(1).join("."),
    message: e.keyword === "propertyNames" ? "is not a valid name" : (e.message ?? "is invalid"),
  }));
  throw new UnprocessableError(
    "OVERLAY_ENV_INVALID",
    `invalid environment overlay: ${details[0]?.path ?? ""} ${details[0]?.message ?? ""}`.trim(),
    details,
  );
}

/** Sets the overlay's variables on the services (map form); the document is not modified. */
export function applyEnv(document: JsonObject, envJson: unknown): JsonObject {
  const overlay = parseEnvOverlay(envJson);
  const services = isJsonObject(document.services) ? document.services : {};
  const unknown = Object.keys(overlay.services ?? {}).filter((name) => !(name in services));
  if (unknown.length > 0) {
    throw new UnprocessableError(
      "OVERLAY_UNKNOWN_SERVICE",
      `the environment overlay names services the compose file does not define: ${unknown.join(", ")}`,
      { services: unknown },
    );
  }
  const out = structuredClone(document);
  const outServices = isJsonObject(out.services) ? out.services : {};
  for (const [name, service] of Object.entries(outServices)) {
    const vars = { ...overlay.global, ...overlay.services?.[name] };
    if (!isJsonObject(service) || Object.keys(vars).length === 0) continue;
    const env = toMap(service.environment);
    // Overlay values are literal, but `docker stack deploy` interpolates `$NAME` in every compose value: `$$`
    // is how compose writes a literal dollar sign.
    for (const [key, value] of Object.entries(vars)) env[key] = value.replaceAll("$", "$$$$");
    service.environment = Object.fromEntries(
      Object.keys(env)
        .sort(compareCodePoints)
        .map((k) => [k, env[k] ?? null]),
    );
  }
  return out;
}

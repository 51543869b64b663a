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
  /** "sse": the gateway streams the response itself (see sse.ts); the action serves pages of it. */
  stream: "sse" | null;
  validate(params: RestParams): void;
}

function objectSchema(params: OpenApiParameter[]): Record<string, unknown> {
  return {
    type: "object",
    properties: Object.fromEntries(params.map((p) => [p.name, p.schema ?? {}])),
    required: params.filter((p) => p.required || p.in === "path").map((p) => p.name),
    additionalProperties: false,
  };
}

function validationError(where: string, validate: ValidateFunction): BadRequestError {
  const details = (validate.errors ?? []).map((e) => ({
    in: where,
    path: e.instancePath || "/",
    message: e.message ?? "invalid",
    ...(e.keyword === "additionalProperties"
      ? { property: (e.params as { additionalProperty: string }).additionalProperty }
      : {}),
  }));
  const first = details[0];
  return new BadRequestError(
    "VALIDATION_FAILED",
    first ? `${where}${first.path === "/" ? "" : first.path}: ${first.message}` : `${where} is invalid`,
    details,
  );
}

export function buildRouteTable(doc: OpenApiDocument): RouteOperation[] {
  const strict = createSpecAjv(doc);
  const coercing = createSpecAjv(doc, { coerceTypes: true });
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
    const bodySchema = operation.requestBody?.content["application/json"]?.schema;
    const bodyValidator = bodySchema ? strict.compile(bodySchema) : null;
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
      stream: operation["x-stream"] === "sse" ? "sse" : null,
      validate(params) {
        if (!pathValidator(params.params)) throw validationError("path", pathValidator);
        if (!queryValidator(params.query)) throw validationError("query", queryValidator);
        if (bodyValidator) {
          const body = params.body;
          const empty =
            body === undefined || body === null || (typeof body === "object" && Object.keys(body).length === 0);
          if (empty && !bodyRequired) {
            params.body = {};
          } else if (!bodyValidator(body)) {
            throw validationError("body", bodyValidator);
          }
        }
      },
    });
  }
  return routes;
}

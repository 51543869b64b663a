/**
 * openapi/openapi.yaml as the source of truth at run time: the gateway builds its routing table, permission
 * checks and ajv validators from it, and the tests check responses against it.
 */
import { readFileSync } from "node:fs";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { OpenAPIV3_1 } from "openapi-types";
import { parse } from "yaml";
import { OPENAPI_FILE } from "./paths.js";

/** Stackyard's own operation keywords. */
export interface StackyardOperationExtensions {
  /** Moleculer action that serves the route; absent for the gateway's built-in routes. */
  "x-action"?: string;
  /** Permission from services/_shared/permissions.ts; absent for public and "any authenticated caller". */
  "x-permission"?: string;
  /** "sse": the gateway streams the response itself. */
  "x-stream"?: "sse" | "websocket";
}
export type OpenApiDocument = OpenAPIV3_1.Document<StackyardOperationExtensions>;
/** A parameter with its reference resolved. */
export type OpenApiParameter = OpenAPIV3_1.ParameterObject & { in: "path" | "query" | "header" };
type MediaTypes = Record<string, { schema?: unknown }>;
/** An operation with path-level parameters merged in and parameter/response references resolved. */
export type OpenApiOperation = Omit<
  OpenAPIV3_1.OperationObject<StackyardOperationExtensions>,
  "parameters" | "requestBody" | "responses"
> & {
  operationId: string;
  parameters: OpenApiParameter[];
  requestBody?: { required?: boolean; content: MediaTypes };
  responses: Record<string, { content?: MediaTypes }>;
};

type Ref = OpenAPIV3_1.ReferenceObject;

export const HTTP_METHODS = ["get", "put", "post", "delete", "patch"] as const;

export function loadOpenApi(file = OPENAPI_FILE): OpenApiDocument {
  return parse(readFileSync(file, "utf8")) as OpenApiDocument;
}

export interface SpecOperation {
  method: string;
  /** OpenAPI template, e.g. /v1/orgs/{orgId}/tokens */
  path: string;
  operation: OpenApiOperation;
}

/** Follows a local `#/components/...` reference (one level is all the document uses). */
function deref<T>(doc: OpenApiDocument, value: T | Ref): T {
  if (value && typeof value === "object" && "$ref" in value && typeof value.$ref === "string") {
    const parts = value.$ref.replace(/^#\//, "").split("/");
    let node: unknown = doc;
    for (const part of parts) node = (node as Record<string, unknown> | undefined)?.[part];
    if (node === undefined) throw new Error(`openapi.yaml: unresolved reference ${value.$ref}`);
    return node as T;
  }
  return value as T;
}

/** Operations with path-level parameters merged in and parameter/response references resolved. */
export function specOperations(doc: OpenApiDocument): SpecOperation[] {
  return Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    HTTP_METHODS.filter((m) => item?.[m]).map((m) => {
      const raw = item![m]!;
      const shared = (item!.parameters ?? []).map((p) => deref<OpenApiParameter>(doc, p as OpenApiParameter | Ref));
      const own = (raw.parameters ?? []).map((p) => deref<OpenApiParameter>(doc, p as OpenApiParameter | Ref));
      const parameters = [...shared.filter((p) => !own.some((o) => o.name === p.name && o.in === p.in)), ...own];
      const responses = Object.fromEntries(
        Object.entries(raw.responses ?? {}).map(([status, r]) => [
          status,
          deref<OpenApiOperation["responses"][string]>(doc, r as OpenApiOperation["responses"][string] | Ref),
        ]),
      );
      const requestBody = raw.requestBody ? deref<OpenApiOperation["requestBody"]>(doc, raw.requestBody) : undefined;
      if (!raw.operationId) throw new Error(`openapi.yaml ${m.toUpperCase()} ${path}: no operationId`);
      return {
        method: m.toUpperCase(),
        path,
        operation: { ...raw, operationId: raw.operationId, parameters, requestBody, responses },
      };
    }),
  );
}

/** /v1/orgs/{orgId} → /v1/orgs/:orgId (moleculer-web alias syntax). */
export const toAliasPath = (template: string): string => template.replace(/\{([^}]+)\}/g, ":$1");

export const templateRegExp = (template: string): RegExp =>
  new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{[^}]+\\?\}/g, "[^/]+")}$`);

/** An ajv instance that knows the document's components, so `#/components/...` refs resolve. */
export function createSpecAjv(
  doc: OpenApiDocument,
  opts: { coerceTypes?: boolean; allErrors?: boolean } = {},
): {
  compile(schema: unknown): ValidateFunction;
  errorsText(errors: ValidateFunction["errors"]): string;
} {
  const ajv = new Ajv2020({ strict: false, allErrors: opts.allErrors ?? true, coerceTypes: opts.coerceTypes ?? false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addSchema({ $id: "openapi", components: { schemas: doc.components?.schemas ?? {} } });
  const rewrite = (schema: unknown): unknown =>
    JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"openapi#/components/'));
  return {
    compile: (schema) => ajv.compile(rewrite(schema) as object),
    errorsText: (errors) => ajv.errorsText(errors),
  };
}

/** The path parameters of `pathname` under `template` (`/v1/x/{id}`), or null when it does not match. */
export function matchTemplate(template: string, pathname: string): Record<string, string> | null {
  const names: string[] = [];
  const pattern = template
    .split(/(\{[^}]+\})/)
    .map((part) => {
      const name = /^\{([^}]+)\}$/.exec(part)?.[1];
      if (name === undefined) return part.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
      names.push(name);
      return "([^/]+)";
    })
    .join("");
  const match = new RegExp(`^${pattern}$`).exec(pathname);
  if (!match) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) {
    try {
      params[names[i]!] = decodeURIComponent(match[i + 1]!);
    } catch {
      return null;
    }
  }
  return params;
}

/**
 * Validates real responses against openapi/openapi.yaml, so tests fail on any drift between code and spec.
 */
import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parse } from "yaml";
import { OPENAPI_FILE } from "../paths.js";

interface OpenApiResponse {
  content?: Record<string, { schema?: unknown }>;
}
interface OpenApiOperation {
  operationId?: string;
  responses: Record<string, OpenApiResponse>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, unknown> };
}

export function loadOpenApi(): OpenApiDocument {
  return parse(readFileSync(OPENAPI_FILE, "utf8")) as OpenApiDocument;
}

const HTTP_METHODS = ["get", "put", "post", "delete", "patch"] as const;

export class OpenApiContract {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  constructor(readonly doc: OpenApiDocument = loadOpenApi()) {
    (addFormats as unknown as (a: Ajv2020) => void)(this.ajv);
    this.ajv.addSchema({ $id: "openapi", components: doc.components ?? {} });
  }

  /** Every (method, path template) the spec declares. */
  operations(): Array<{ method: string; path: string; operation: OpenApiOperation }> {
    return Object.entries(this.doc.paths).flatMap(([path, item]) =>
      HTTP_METHODS.filter((m) => item[m]).map((m) => ({ method: m.toUpperCase(), path, operation: item[m]! })),
    );
  }

  private match(method: string, concretePath: string): { path: string; operation: OpenApiOperation } {
    const pathname = concretePath.split("?")[0] ?? concretePath;
    for (const op of this.operations()) {
      if (op.method !== method.toUpperCase()) continue;
      const pattern = new RegExp(`^${op.path.replace(/\{[^}]+\}/g, "[^/]+")}$`);
      if (pattern.test(pathname)) return op;
    }
    throw new Error(`${method} ${pathname} is not described in openapi.yaml`);
  }

  /** Throws with the schema errors when the response does not match the spec. */
  assertResponse(method: string, path: string, status: number, contentType: string | null, body: unknown): void {
    const { path: template, operation } = this.match(method, path);
    const response = operation.responses[String(status)] ?? operation.responses.default;
    if (!response) throw new Error(`${method} ${template}: status ${status} is not documented`);
    if (!response.content) return;
    const mediaType = (contentType ?? "").split(";")[0]?.trim() ?? "";
    const media = response.content[mediaType];
    if (!media) throw new Error(`${method} ${template} ${status}: content type "${mediaType}" is not documented`);
    if (media.schema === undefined) return;
    const schema = JSON.parse(JSON.stringify(media.schema).replace(/"#\/components\//g, '"openapi#/components/'));
    const validate = this.ajv.compile(schema);
    if (!validate(body)) {
      throw new Error(
        `${method} ${template} ${status}: response does not match openapi.yaml: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`,
      );
    }
  }
}

/**
 * Validates real responses against openapi/openapi.yaml, so tests fail on any drift between code and spec.
 */
import {
  createSpecAjv,
  loadOpenApi,
  specOperations,
  templateRegExp,
  type OpenApiDocument,
  type SpecOperation,
} from "../openapi.js";

export class OpenApiContract {
  private readonly ajv;
  private readonly ops: SpecOperation[];

  constructor(readonly doc: OpenApiDocument = loadOpenApi()) {
    this.ajv = createSpecAjv(doc);
    this.ops = specOperations(doc);
  }

  operations(): SpecOperation[] {
    return this.ops;
  }

  private match(method: string, concretePath: string): SpecOperation {
    const pathname = concretePath.split("?")[0] ?? concretePath;
    const found = this.ops.find((op) => op.method === method.toUpperCase() && templateRegExp(op.path).test(pathname));
    if (!found) throw new Error(`${method} ${pathname} is not described in openapi.yaml`);
    return found;
  }

  /** Throws with the schema errors when the response does not match the spec. */
  assertResponse(method: string, path: string, status: number, contentType: string | null, body: unknown): void {
    const { path: template, operation } = this.match(method, path);
    const response = operation.responses[String(status)] ?? operation.responses.default;
    if (!response)
      throw new Error(`${method} ${template}: status ${status} is not documented (body: ${JSON.stringify(body)})`);
    if (!response.content) {
      if (body !== "" && body !== undefined)
        throw new Error(`${method} ${template} ${status}: documented without a body`);
      return;
    }
    const mediaType = (contentType ?? "").split(";")[0]?.trim() ?? "";
    const media = response.content[mediaType];
    if (!media) throw new Error(`${method} ${template} ${status}: content type "${mediaType}" is not documented`);
    if (media.schema === undefined) return;
    const validate = this.ajv.compile(media.schema);
    if (!validate(body)) {
      throw new Error(
        `${method} ${template} ${status}: response does not match openapi.yaml: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`,
      );
    }
  }
}

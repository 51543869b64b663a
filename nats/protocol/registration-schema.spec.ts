/**
 * The registration request exists once as a protocol message and once in openapi.yaml (the gateway validates it):
 * the two schemas must say the same thing.
 */
import { expect } from "chai";
import { loadOpenApi, specOperations } from "../../services/_shared/openapi.js";
import { MESSAGE_SCHEMAS } from "./messages.js";

type Schema = Record<string, unknown>;

/** One spelling for what both dialects can say: refs resolved, nullable as a type list, enums typed, sets sorted. */
function normalize(schema: unknown, resolve: (ref: string) => unknown): unknown {
  if (Array.isArray(schema)) return schema.map((s) => normalize(s, resolve));
  if (!schema || typeof schema !== "object") return schema;
  let s = { ...(schema as Schema) };
  if (typeof s.$ref === "string") return normalize(resolve(s.$ref), resolve);
  const anyOf = s.anyOf as Schema[] | undefined;
  if (anyOf?.length === 2 && anyOf.some((b) => b.type === "null")) {
    const other = anyOf.find((b) => b.type !== "null")!;
    s = { ...other, type: [other.type, "null"] };
  }
  delete s.nullable;
  if (Array.isArray(s.enum) && s.type === undefined && s.enum.every((v) => typeof v === "string")) s.type = "string";
  if (Array.isArray(s.required)) s.required = [...(s.required as string[])].sort();
  return Object.fromEntries(
    Object.entries(s)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, normalize(v, resolve)]),
  );
}

describe("the registration request schema", () => {
  it("is the same in the agent protocol and in openapi.yaml", () => {
    const doc = loadOpenApi();
    const operation = specOperations(doc).find((op) => op.operation.operationId === "registerAgent")!.operation;
    const resolve = (ref: string): unknown =>
      ref
        .replace(/^#\//, "")
        .split("/")
        .reduce<unknown>((node, part) => (node as Schema)[part], doc);
    const fromSpec = normalize(operation.requestBody!.content["application/json"]!.schema, resolve);
    const fromProtocol = normalize(MESSAGE_SCHEMAS.RegisterRequest, resolve);
    expect(fromProtocol).to.deep.equal(fromSpec);
  });
});

/**
 * The spec-driven API fuzzer: for every operation of openapi.yaml it builds requests from the schemas (valid
 * ones, then mutated: wrong types, missing/extra fields, huge and hostile strings, boundary numbers, malformed
 * JSON and UTF-8, wrong content types, oversized and deeply nested bodies, odd path/query/header values,
 * missing/wrong/foreign credentials), sends them raw to the real gateway and checks the oracles:
 * no undocumented 5xx, every status documented, every body valid against the spec, 4xx bodies in the Error
 * shape with a stable code, 401/403/404 rules, nothing written by a refused request, answers within a bound.
 * Every case derives from (seed, operation, index), so a failure prints the line that replays it.
 */
import { request as httpRequest } from "node:http";
import type { Db } from "../../services/_shared/db.js";
import { specOperations, type OpenApiParameter, type SpecOperation } from "../../services/_shared/openapi.js";
import { ROLES, ROLE_PERMISSIONS, type Permission } from "../../services/_shared/permissions.js";
import { OpenApiContract } from "../../services/_shared/testing/openapi-contract.js";
import { TEST_PASSWORD } from "../../services/_shared/testing/fixtures.js";
import { TEST_BOOTSTRAP_TOKEN } from "../../services/_shared/testing/platform.js";
import { Rng } from "./prng.js";
import {
  BOUNDARY_NUMBERS,
  HOSTILE_STRINGS,
  hostileValue,
  makeResolver,
  randomUuid,
  validValue,
  type IdHints,
  type Resolve,
} from "./schema-values.js";
import type { ContractClient } from "../../services/_shared/testing/http.js";
import { FUZZ_COMPOSE, renewSession, tableCounts, type FuzzWorld, type OrgWorld, type Principal } from "./world.js";

export const STABLE_CODE = /^[A-Z][A-Z0-9_]*$/;
/** The gateway's body limit in the fuzz platform (HTTP_BODY_LIMIT_BYTES default). */
const BODY_LIMIT = 1024 * 1024;

export type Variant =
  | "valid"
  | "body-missing-required"
  | "body-extra-field"
  | "body-wrong-type"
  | "body-hostile-string"
  | "body-huge-string"
  | "body-huge-array"
  | "body-boundary-number"
  | "body-deep-nesting"
  | "body-malformed-json"
  | "body-invalid-utf8"
  | "body-not-object"
  | "body-duplicate-keys"
  | "body-wrong-content-type"
  | "body-oversized"
  | "path-not-uuid"
  | "path-unknown-id"
  | "path-foreign-id"
  | "query-unknown"
  | "query-hostile"
  | "header-duplicate"
  | "header-huge"
  | "auth-none"
  | "auth-garbage"
  | "auth-wrong-role"
  | "auth-foreign-principal"
  | "race-duplicate";

const VARIANTS: readonly Variant[] = [
  "valid",
  "valid",
  "valid",
  "body-missing-required",
  "body-extra-field",
  "body-wrong-type",
  "body-wrong-type",
  "body-hostile-string",
  "body-hostile-string",
  "body-huge-string",
  "body-huge-array",
  "body-boundary-number",
  "body-deep-nesting",
  "body-malformed-json",
  "body-invalid-utf8",
  "body-not-object",
  "body-duplicate-keys",
  "body-wrong-content-type",
  "body-oversized",
  "path-not-uuid",
  "path-unknown-id",
  "path-foreign-id",
  "query-unknown",
  "query-hostile",
  "query-hostile",
  "header-duplicate",
  "header-huge",
  "auth-none",
  "auth-garbage",
  "auth-wrong-role",
  "auth-foreign-principal",
  "race-duplicate",
];

/** The same valid write sent this many times at once (unique-name races). */
const RACE_COPIES = 4;

export interface FuzzRequest {
  method: string;
  path: string;
  headers: [string, string][];
  body?: Buffer;
  /** Who the credential belongs to (printed instead of the token). */
  principal: string;
}

export interface FuzzCase {
  operationId: string;
  index: number;
  variant: Variant;
  request: FuzzRequest;
  /** The statuses the variant must get, when it pins one. */
  expect?: number[];
  expectWhy?: string;
}

export interface FuzzResponse {
  status: number;
  contentType: string | null;
  text: string;
  ms: number;
}

export interface FuzzFailure {
  seed: number;
  operationId: string;
  index: number;
  variant: Variant;
  problem: string;
  status: number;
  request: string;
  response: string;
  replay: string;
}

export interface OperationStats {
  sent: number;
  byStatus: Record<string, number>;
  maxMs: number;
}

export interface FuzzReport {
  seed: number;
  requests: number;
  byStatus: Record<string, number>;
  fiveHundreds: number;
  maxMs: number;
  operations: Record<string, OperationStats>;
  failures: FuzzFailure[];
}

const idParams: Record<string, (o: OrgWorld, rng: Rng, op: SpecOperation) => string> = {
  orgId: (o) => o.orgId,
  clusterId: (o, rng, op) =>
    /^(deleteCluster|revokeCluster|issueRegistrationToken)$/.test(op.operation.operationId)
      ? rng.pick(o.spareClusterIds)
      : o.clusterId,
  credentialId: (o, rng) => rng.pick(o.credentialIds),
  tokenId: (o, rng) => rng.pick(o.tokenIds),
  warningId: (_o, rng) => randomUuid(rng),
  stackId: (o) => o.stackId,
  envId: (o) => o.envId,
  releaseId: (o, rng) => rng.pick(o.releaseIds),
  deploymentId: (o, rng) => rng.pick(o.deploymentIds),
};

const NOT_UUIDS = [
  "abc",
  "1",
  "-1",
  "0x10",
  "%00",
  "%zz",
  "%E0%A4%A",
  "..",
  "%2e%2e",
  "%2F",
  "null",
  "x".repeat(3000),
  "%F0%9F%98%80",
  "00000000-0000-0000-0000-00000000000g",
  "' or 1=1 --",
];

function hintsFor(world: FuzzWorld, op: SpecOperation): IdHints {
  const o = world.own;
  const hints: IdHints = {
    clusterId: [o.clusterId],
    releaseId: o.releaseIds,
    stackId: [o.stackId],
    environmentId: [o.envId],
    deploymentId: o.deploymentIds,
    composeYaml: [FUZZ_COMPOSE],
    services: [],
  };
  if (op.operation.operationId === "login") {
    hints.email = [o.loginEmail];
    hints.password = [TEST_PASSWORD, "wrong password 123"];
    hints.orgId = [o.orgId];
  }
  if (op.operation.operationId === "refresh" || op.operation.operationId === "logout")
    hints.refreshToken = o.refreshTokens;
  return hints;
}

function bodySchemaOf(op: SpecOperation): unknown {
  return op.operation.requestBody?.content["application/json"]?.schema;
}

function permissionOf(op: SpecOperation): Permission | null {
  return (op.operation["x-permission"] as Permission | undefined) ?? null;
}

const isWebSocketOnly = (op: SpecOperation): boolean => op.operation["x-stream"] === "websocket";

const isPublic = (op: SpecOperation): boolean =>
  Array.isArray(op.operation.security) && op.operation.security.length === 0;

function principalFor(org: OrgWorld, permission: Permission | null, operationId: string): Principal {
  if (operationId === "logout") return org.session;
  if (!permission) return org.principals.ORG_ADMIN;
  const able = ROLES.filter((r) => ROLE_PERMISSIONS[r].includes(permission));
  return org.principals[able[able.length - 1] ?? "ORG_ADMIN"];
}

/** Percent-encodes like encodeURIComponent, but a lone surrogate becomes its (invalid) UTF-8 bytes instead of a throw. */
export function pct(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return Array.from(value, (ch) => {
      const code = ch.charCodeAt(0);
      if (code >= 0xd800 && code <= 0xdfff)
        return [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
          .map((b) => "%" + b.toString(16).toUpperCase())
          .join("");
      return encodeURIComponent(ch);
    }).join("");
  }
}

function deepNest(depth: number): string {
  return `{"a":${"[".repeat(depth)}1${"]".repeat(depth)}}`;
}

/** The field paths of an object value, for targeted mutations. */
function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (!value || typeof value !== "object" || Array.isArray(value)) return prefix.length ? [prefix] : [];
  const entries = Object.entries(value);
  if (entries.length === 0) return prefix.length ? [prefix] : [];
  return entries.flatMap(([k, v]) => [
    [...prefix, k],
    ...leafPaths(v, [...prefix, k]).filter((p) => p.length > prefix.length + 1),
  ]);
}

function setAt(target: unknown, path: string[], value: unknown): void {
  let node = target as Record<string, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[path[path.length - 1] as string] = value;
}

function deleteAt(target: unknown, path: string[]): void {
  let node = target as Record<string, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  delete node[path[path.length - 1] as string];
}

export class ApiFuzzer {
  private readonly contract = new OpenApiContract();
  private readonly ops: SpecOperation[];
  private readonly resolve: Resolve;
  private readonly url: URL;

  constructor(
    baseUrl: string,
    private readonly world: FuzzWorld,
    private readonly db: Db,
    private readonly api: ContractClient,
    private readonly opts: { maxMs: number; only?: string } = { maxMs: 1000 },
  ) {
    this.url = new URL(baseUrl);
    this.ops = this.contract.operations().filter((op) => !opts.only || op.operation.operationId === opts.only);
    this.resolve = makeResolver((this.contract.doc.components?.schemas ?? {}) as Record<string, unknown>);
  }

  operations(): SpecOperation[] {
    return this.ops;
  }

  /** Case `index` of an operation under `seed`: the same triple always builds the same request. */
  buildCase(seed: number, op: SpecOperation, index: number): FuzzCase {
    const opIndex = specOperations(this.contract.doc).findIndex(
      (o) => o.operation.operationId === op.operation.operationId,
    );
    const rng = new Rng(
      (Math.imul(seed, 2654435761) ^ Math.imul(opIndex + 1, 40503) ^ Math.imul(index + 1, 69069)) >>> 0,
    );
    const variant: Variant = index === 0 ? "valid" : rng.pick(VARIANTS);
    return this.build(rng, op, index, variant);
  }

  private build(rng: Rng, op: SpecOperation, index: number, variant: Variant): FuzzCase {
    const { world } = this;
    const permission = permissionOf(op);
    const hints = hintsFor(world, op);
    const params = op.operation.parameters;
    const pathParams = params.filter((p) => p.in === "path");
    const idNames = pathParams.map((p) => p.name).filter((n) => n in idParams);
    let principal: Principal | null = principalFor(world.own, permission, op.operation.operationId);
    let expect: number[] | undefined;
    let expectWhy: string | undefined;
    const pin = (statuses: number[], why: string) => {
      expect = statuses;
      expectWhy = why;
    };

    // Path: real ids of the caller's org, unless the variant swaps one.
    let pathOrg: OrgWorld = world.own;
    if (variant === "path-foreign-id" && idNames.length > 0) pathOrg = world.other;
    const values: Record<string, string> = {};
    for (const p of pathParams) {
      const id = idParams[p.name];
      values[p.name] = id
        ? id(pathOrg, rng, op)
        : pct(
            String(
              validValue(
                p.schema,
                rng,
                this.resolve,
                p.name === "name" ? { name: ["db_password"] } : { service: ["app"] },
                p.name,
              ),
            ),
          );
    }
    const swap = idNames.length > 0 ? rng.pick(idNames) : pathParams[0]?.name;
    if (variant === "path-not-uuid" && swap) {
      const bad = rng.pick(NOT_UUIDS);
      values[swap] = /^%|^\.\.$/.test(bad) ? bad : pct(bad);
    }
    if (variant === "path-unknown-id" && idNames.length > 0 && swap) values[swap] = randomUuid(rng);
    // A WebSocket-only route (x-stream: websocket) answers a plain request 426 once the caller is authenticated and
    // permitted, before it looks any id up: the same answer for every id, so it tells nothing about another org's.
    const absent = (why: string) =>
      isWebSocketOnly(op)
        ? pin([426], "a WebSocket-only route answers a plain request 426 for every id, before looking ids up")
        : pin([404], why);
    if (variant === "path-foreign-id" && idNames.length > 0)
      absent("another org's ids are reported absent (404), never forbidden");
    if (variant === "path-unknown-id" && idNames.length > 0 && !isPublic(op))
      absent("an id that does not exist is 404");
    let path = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => values[name] ?? "x");

    // Query.
    const query: [string, string][] = [];
    for (const p of params.filter((q) => q.in === "query")) {
      if (!p.required && !rng.chance(0.5)) continue;
      const value = validValue(p.schema, rng, this.resolve, hints, p.name);
      // Form style, exploded (OpenAPI's default for query arrays): one `name=item` per item. An empty array is
      // no parameter at all (a required array has minItems, which validValue honours).
      if (Array.isArray(value)) {
        if (value.length === 0 && !p.required) continue;
        for (const item of value) query.push([p.name, String(item)]);
      } else query.push([p.name, String(value)]);
    }
    const queryParams = params.filter((q) => q.in === "query");
    if (variant === "query-unknown")
      query.push([
        rng.pick(["foo", "__proto__", "constructor", "limit[]", "a".repeat(500)]),
        rng.pick(HOSTILE_STRINGS),
      ]);
    if (variant === "query-hostile" && queryParams.length > 0) {
      const p = rng.pick(queryParams);
      const hostile = rng.pick<string>([
        ...BOUNDARY_NUMBERS.map(String),
        "9".repeat(25),
        "99999999999999999999",
        "1e5",
        "0x1f",
        "NaN",
        "Infinity",
        "-0",
        "true",
        "",
        ...HOSTILE_STRINGS,
        "2026-13-45T99:99:99Z",
        "275760-09-13T00:00:00.001Z",
        "0000-01-01T00:00:00Z",
      ]);
      query.push([p.name, hostile]);
      if (rng.chance(0.3)) query.push([p.name, hostile]);
    }
    if (query.length > 0) path += "?" + query.map(([k, v]) => `${pct(k)}=${pct(v)}`).join("&");
    if (variant === "query-hostile" && queryParams.length === 0)
      path += rng.pick(["?&&&", "?=", "?a=%zz", "?%00=%00", "?a[b][c]=1"]);

    // Body.
    const schema = bodySchemaOf(op);
    let body: Buffer | undefined;
    let contentType: string | undefined;
    if (schema !== undefined) {
      const value = validValue(schema, rng, this.resolve, hints);
      const leaves = leafPaths(value);
      const props = this.resolve(schema).properties as Record<string, unknown> | undefined;
      let text: string | undefined;
      switch (variant) {
        case "body-missing-required": {
          const required = (this.resolve(schema).required as string[] | undefined) ?? [];
          if (required.length > 0 && value && typeof value === "object")
            delete (value as Record<string, unknown>)[rng.pick(required)];
          else if (leaves.length > 0) deleteAt(value, rng.pick(leaves));
          break;
        }
        case "body-extra-field":
          (value as Record<string, unknown>)[rng.pick(["extra", "__proto__", "constructor", "orgId", "id", "role"])] =
            rng.pick(["x", 1, {}, null]);
          break;
        case "body-wrong-type":
          if (leaves.length > 0) {
            const leaf = rng.pick(leaves);
            setAt(value, leaf, hostileValue(props?.[leaf[0] as string] ?? {}, rng, this.resolve));
          }
          break;
        case "body-hostile-string":
          if (leaves.length > 0)
            setAt(value, rng.pick(leaves), rng.pick(HOSTILE_STRINGS) + (rng.chance(0.5) ? "x" : ""));
          break;
        case "body-huge-string":
          if (leaves.length > 0)
            setAt(
              value,
              rng.pick(leaves),
              rng.pick(["x", "é", "\u0000", "😀"]).repeat(rng.pick([300, 70_000, 240_000])),
            );
          break;
        case "body-huge-array":
          if (leaves.length > 0)
            setAt(
              value,
              rng.pick(leaves),
              Array.from({ length: rng.pick([1000, 50_000]) }, (_v, i) => (rng.chance(0.5) ? i : "x")),
            );
          break;
        case "body-boundary-number":
          if (leaves.length > 0) setAt(value, rng.pick(leaves), rng.pick(BOUNDARY_NUMBERS));
          if (rng.chance(0.4))
            text = JSON.stringify(value).replace(
              /:(\d+)/,
              ":" + rng.pick(["1e400", "-1e400", "123456789012345678901234567890", "1.0000000000000000001", "-0"]),
            );
          break;
        case "body-deep-nesting":
          text = deepNest(rng.pick([100, 5000, 100_000]));
          break;
        case "body-malformed-json":
          text = rng.pick([
            '{"a":',
            "{'a':1}",
            "{a:1}",
            '{"a":1,}',
            "[",
            "\u0000",
            "undefined",
            "NaN",
            '{"a":"\\u00"}',
            '{"a":"\\ud800"}',
            JSON.stringify(value).slice(0, -1),
          ]);
          break;
        case "body-invalid-utf8":
          body = Buffer.concat([
            Buffer.from('{"name":"'),
            Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]),
            Buffer.from('"}'),
          ]);
          break;
        case "body-not-object":
          text = rng.pick(["[]", "[1,2]", "1", '"x"', "null", "true", "0"]);
          break;
        case "body-duplicate-keys": {
          const json = JSON.stringify(value);
          const first = Object.keys(value as object)[0] ?? "a";
          text = json.length > 2 ? `{${JSON.stringify(first)}:{"$ne":1},${json.slice(1)}` : json;
          break;
        }
        case "body-wrong-content-type":
          contentType = rng.pick([
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/xml",
            "application/json; charset=latin1",
            "application/jsonx",
            "",
          ]);
          break;
        case "body-oversized":
          text = JSON.stringify({ pad: "x".repeat(BODY_LIMIT + rng.int(1, 100_000)) });
          pin([413], "a body over HTTP_BODY_LIMIT_BYTES is 413");
          break;
        default:
          break;
      }
      body ??= Buffer.from(text ?? JSON.stringify(value), "utf8");
    } else if (variant === "body-oversized" || variant === "body-malformed-json") {
      // An operation without a body still gets one: it must be ignored or refused cleanly.
      body = Buffer.from(variant === "body-oversized" ? "x".repeat(BODY_LIMIT + 10) : "{", "utf8");
    }

    // Headers.
    const headers: [string, string][] = [];
    if (body !== undefined) headers.push(["content-type", contentType ?? "application/json"]);
    if (op.operation.operationId === "createOrg" && rng.chance(0.7))
      headers.push(["x-bootstrap-token", TEST_BOOTSTRAP_TOKEN]);
    for (const p of params.filter((q: OpenApiParameter) => q.in === "header")) {
      if (rng.chance(0.5)) headers.push([p.name, String(validValue(p.schema, rng, this.resolve, hints, p.name))]);
    }
    if (variant === "header-huge")
      headers.push([
        rng.pick(["idempotency-key", "x-request-id", "last-event-id", "user-agent", "x-forwarded-for", "accept"]),
        rng.pick(["a", "1", "é"]).repeat(rng.pick([256, 4000, 8000])),
      ]);

    // Credentials.
    switch (variant) {
      case "auth-none":
        principal = null;
        if (!isPublic(op)) pin([401], "no credential on a protected operation is 401");
        break;
      case "auth-garbage":
        principal = null;
        headers.push([
          "authorization",
          rng.pick([
            "Bearer x",
            "Bearer ",
            "Basic YTpi",
            "bearer stk_abc_def",
            "Bearer stk_" + "a".repeat(500),
            "Bearer eyJhbGciOiJub25lIn0.e30.",
            "Bearer \u00ff",
          ]),
        ]);
        if (!isPublic(op)) pin([401], "a malformed credential on a protected operation is 401");
        break;
      case "auth-wrong-role": {
        const lacking = permission ? ROLES.filter((r) => !ROLE_PERMISSIONS[r].includes(permission)) : [];
        if (lacking.length > 0) {
          principal = world.own.principals[rng.pick(lacking)];
          pin([403], `a role without "${permission}" is 403`);
        }
        break;
      }
      case "auth-foreign-principal":
        principal = principalFor(world.other, permission, op.operation.operationId);
        if (idNames.length > 0 && !isPublic(op)) absent("another org's principal sees this org's ids as absent (404)");
        break;
      default:
        break;
    }
    if (principal) headers.push(["authorization", principal.auth.authorization as string]);
    if (variant === "header-duplicate") {
      const dup = rng.pick([
        "authorization",
        "content-type",
        "idempotency-key",
        "x-request-id",
        "last-event-id",
        "x-bootstrap-token",
        "host",
      ]);
      const existing = headers.find(([k]) => k.toLowerCase() === dup);
      headers.push([dup, existing ? existing[1] : rng.pick(["a", "application/json", "1"])]);
      if (dup !== "host") headers.push([dup, rng.pick(["b", "text/plain", "2", "Bearer other"])]);
    }
    return {
      operationId: op.operation.operationId,
      index,
      variant,
      request: {
        method: op.method,
        path,
        headers,
        ...(body !== undefined ? { body } : {}),
        principal: principal?.name ?? "none",
      },
      ...(expect ? { expect, ...(expectWhy ? { expectWhy } : {}) } : {}),
    };
  }

  /** Sends the request exactly as built (raw headers, duplicates kept), reading the whole answer. */
  send(req: FuzzRequest, timeoutMs = 10_000): Promise<FuzzResponse> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      // Raw headers get no defaults from node: HTTP/1.1 needs Host.
      const flat: string[] = ["host", this.url.host, ...req.headers.flatMap(([k, v]) => [k, v])];
      if (req.body !== undefined) flat.push("content-length", String(req.body.length));
      const r = httpRequest(
        {
          host: this.url.hostname,
          port: this.url.port,
          method: req.method,
          path: req.path,
          headers: flat,
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: res.headers["content-type"] ?? null,
              text: Buffer.concat(chunks).toString("utf8"),
              ms: performance.now() - started,
            }),
          );
          res.on("error", reject);
        },
      );
      r.on("timeout", () => r.destroy(new Error(`no complete answer within ${timeoutMs} ms`)));
      r.on("error", (err: NodeJS.ErrnoException) => {
        // The server may answer (413) and close before the whole body is written.
        if (err.code === "EPIPE" || err.code === "ECONNRESET") return;
        reject(err);
      });
      if (req.body !== undefined) r.end(req.body);
      else r.end();
    });
  }

  /** The problems of one answer, by the oracles above; empty when it is right. */
  judge(c: FuzzCase, res: FuzzResponse): string[] {
    const problems: string[] = [];
    const op = this.ops.find((o) => o.operation.operationId === c.operationId);
    if (!op) return ["unknown operation"];
    const documented = op.operation.responses[String(res.status)];
    if (res.status >= 500) {
      if (!documented) problems.push(`undocumented ${res.status}`);
    }
    if ((res.status < 300 || res.status >= 500) && !documented && res.status !== 0)
      problems.push(`status ${res.status} is not listed for ${c.operationId} (only a 4xx may fall under default)`);
    if (c.expect && !c.expect.includes(res.status))
      problems.push(`expected ${c.expect.join("/")} (${c.expectWhy}), got ${res.status}`);
    if (res.ms > this.opts.maxMs) problems.push(`answered in ${Math.round(res.ms)} ms (bound ${this.opts.maxMs} ms)`);
    let parsed: unknown = res.text;
    if (res.contentType?.includes("json") && res.text) {
      try {
        parsed = JSON.parse(res.text);
      } catch {
        problems.push("a JSON content type with a body that is not JSON");
        return problems;
      }
    }
    try {
      const path = c.request.path.split("?")[0] ?? "";
      this.contract.assertResponse(c.request.method, path, res.status, res.contentType, parsed);
    } catch (err) {
      problems.push((err as Error).message.split("\n")[0] ?? String(err));
    }
    if (res.status >= 400) {
      const code = (parsed as { error?: { code?: unknown } } | null)?.error?.code;
      if (typeof code !== "string" || !STABLE_CODE.test(code))
        problems.push(`error code ${JSON.stringify(code)} is not a stable code`);
      if (code === "INTERNAL") problems.push("an INTERNAL error");
    }
    return problems;
  }

  private mutating(c: FuzzCase): boolean {
    return c.request.method !== "GET";
  }

  /** Runs `perOperation` cases of every operation under `seed`. */
  async run(
    seed: number,
    perOperation: number,
    onProgress?: (sent: number) => void,
    firstIndex = 0,
  ): Promise<FuzzReport> {
    const report: FuzzReport = {
      seed,
      requests: 0,
      byStatus: {},
      fiveHundreds: 0,
      maxMs: 0,
      operations: {},
      failures: [],
    };
    for (let i = firstIndex; i < firstIndex + perOperation; i++) {
      for (const op of this.ops) {
        const c = this.buildCase(seed, op, i);
        await this.runCase(seed, c, report);
        onProgress?.(report.requests);
      }
    }
    return report;
  }

  async runCase(seed: number, c: FuzzCase, report: FuzzReport): Promise<void> {
    const race = c.variant === "race-duplicate";
    const before = this.mutating(c) && !race ? await tableCounts(this.db) : null;
    const attempt = async (): Promise<FuzzResponse> => {
      try {
        return await this.send(c.request);
      } catch (err) {
        return { status: 0, contentType: null, text: String(err), ms: 0 };
      }
    };
    // A race sends copies at once; each answer is judged, the worst one is recorded.
    const answers = race ? await Promise.all(Array.from({ length: RACE_COPIES }, attempt)) : [await attempt()];
    const judged = answers.map((r) => ({
      res: r,
      problems: r.status === 0 ? [`no answer: ${r.text}`] : this.judge(c, r),
    }));
    const worst = judged.find((j) => j.problems.length > 0) ?? judged[0]!;
    const res = worst.res;
    const problems = worst.problems;
    if (c.operationId === "logout" && res.status < 300) {
      await renewSession(this.api, this.world.own);
      await renewSession(this.api, this.world.other);
    }
    if (before && res.status >= 400) {
      const after = await tableCounts(this.db);
      const changed = Object.keys(after).filter((t) => after[t] !== before[t]);
      if (changed.length > 0) problems.push(`refused (${res.status}) but wrote rows in ${changed.join(", ")}`);
    }
    const stats = (report.operations[c.operationId] ??= { sent: 0, byStatus: {}, maxMs: 0 });
    for (const answer of answers) {
      const key = String(answer.status);
      stats.sent++;
      stats.byStatus[key] = (stats.byStatus[key] ?? 0) + 1;
      stats.maxMs = Math.max(stats.maxMs, Math.round(answer.ms));
      report.requests++;
      report.byStatus[key] = (report.byStatus[key] ?? 0) + 1;
      report.maxMs = Math.max(report.maxMs, Math.round(answer.ms));
      if (answer.status >= 500) report.fiveHundreds++;
    }
    if (problems.length > 0)
      report.failures.push({
        seed,
        operationId: c.operationId,
        index: c.index,
        variant: c.variant,
        problem: problems.join("; "),
        status: res.status,
        request: describeRequest(c.request),
        response: res.text.slice(0, 600),
        replay: `FUZZ_SEED=${seed} FUZZ_OP=${c.operationId} FUZZ_CASE=${c.index} make fuzz`,
      });
  }
}

/** The request as a reader can replay it: method, path, headers (credentials by owner), body (abridged if huge). */
export function describeRequest(req: FuzzRequest): string {
  const headers = req.headers
    .map(
      ([k, v]) =>
        `${k}: ${k.toLowerCase() === "authorization" && v.startsWith("Bearer ey") ? `Bearer <${req.principal}>` : v.length > 120 ? `${v.slice(0, 40)}…(${v.length} chars)` : v}`,
    )
    .join("\n  ");
  const body =
    req.body === undefined
      ? ""
      : req.body.length > 600
        ? `\n  body (${req.body.length} bytes): ${JSON.stringify(req.body.subarray(0, 300).toString("utf8"))}…`
        : `\n  body: ${JSON.stringify(req.body.toString("utf8"))}${req.body.toString("utf8").includes("\ufffd") ? ` (hex ${req.body.toString("hex")})` : ""}`;
  return `${req.method} ${req.path.length > 300 ? req.path.slice(0, 300) + "…" : req.path}\n  ${headers}${body}`;
}

export function mergeReports(reports: FuzzReport[]): Omit<FuzzReport, "seed"> & { seeds: number[] } {
  const out = {
    seeds: reports.map((r) => r.seed),
    requests: 0,
    byStatus: {} as Record<string, number>,
    fiveHundreds: 0,
    maxMs: 0,
    operations: {} as Record<string, OperationStats>,
    failures: [] as FuzzFailure[],
  };
  for (const r of reports) {
    out.requests += r.requests;
    out.fiveHundreds += r.fiveHundreds;
    out.maxMs = Math.max(out.maxMs, r.maxMs);
    out.failures.push(...r.failures);
    for (const [s, n] of Object.entries(r.byStatus)) out.byStatus[s] = (out.byStatus[s] ?? 0) + n;
    for (const [id, st] of Object.entries(r.operations)) {
      const o = (out.operations[id] ??= { sent: 0, byStatus: {}, maxMs: 0 });
      o.sent += st.sent;
      o.maxMs = Math.max(o.maxMs, st.maxMs);
      for (const [s, n] of Object.entries(st.byStatus)) o.byStatus[s] = (o.byStatus[s] ?? 0) + n;
    }
  }
  return out;
}

/** One line per status and the operations' counts, for the console. */
export function summarize(r: {
  requests: number;
  byStatus: Record<string, number>;
  fiveHundreds: number;
  maxMs: number;
  failures: FuzzFailure[];
  operations: Record<string, OperationStats>;
}): string {
  const statuses = Object.entries(r.byStatus)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([s, n]) => `${s}×${n}`)
    .join(" ");
  return `${r.requests} requests over ${Object.keys(r.operations).length} operations; statuses ${statuses}; 5xx ${r.fiveHundreds}; slowest ${r.maxMs} ms; ${r.failures.length} failures`;
}

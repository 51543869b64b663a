/**
 * The bugs the API fuzzer found, each pinned by the request that showed it (real gateway, Postgres, NATS).
 */
import { request as httpRequest } from "node:http";
import { expect } from "chai";
import { findUnstorableText } from "../../services/api/routes.js";
import { isApiPath } from "../../services/api/static-ui.js";
import { createOrgWithAdmin, uniqueName, type TestOrg } from "../../services/_shared/testing/fixtures.js";
import { startTestStack, stopTestStack, type TestStack } from "../../services/_shared/testing/stack.js";

interface Answer {
  status: number;
  contentType: string | null;
  body: { error?: { code?: string } } & Record<string, unknown>;
}

describe("API fuzzer regressions (real control plane)", function () {
  this.timeout(60_000);
  let stack: TestStack | undefined;
  let org: TestOrg;
  let other: TestOrg;

  const raw = async (
    method: string,
    path: string,
    body: string,
    headers: Record<string, string> = {},
  ): Promise<Answer> => {
    const res = await fetch(stack!.platform.baseUrl + path, {
      method,
      headers: { "content-type": "application/json", ...headers },
      body,
    });
    const text = await res.text();
    const contentType = res.headers.get("content-type");
    return { status: res.status, contentType, body: contentType?.includes("json") ? JSON.parse(text) : { text } };
  };

  before(async () => {
    stack = await startTestStack();
    org = await createOrgWithAdmin(stack.api);
    other = await createOrgWithAdmin(stack.api);
  });
  after(async () => {
    if (stack) await stopTestStack(stack);
  });

  it("malformed JSON is 400 MALFORMED_JSON, not body-parser's entity.parse.failed", async () => {
    const res = await raw("POST", `/v1/orgs/${org.orgId}/stacks`, '{"name":', org.admin.auth);
    expect(res.status).to.equal(400);
    expect(res.body.error?.code).to.equal("MALFORMED_JSON");
  });

  it("a top-level JSON scalar is 400 MALFORMED_JSON (strict parsing)", async () => {
    const res = await raw("POST", `/v1/orgs/${org.orgId}/clusters`, '"x"', org.admin.auth);
    expect(res.status).to.equal(400);
    expect(res.body.error?.code).to.equal("MALFORMED_JSON");
  });

  it("a body over the limit is 413 BODY_TOO_LARGE with the limit, not entity.too.large", async () => {
    const body = JSON.stringify({ name: "x".repeat(1024 * 1024 + 10) });
    const res = await raw("POST", `/v1/orgs/${org.orgId}/stacks`, body, org.admin.auth);
    expect(res.status).to.equal(413);
    expect(res.body.error?.code).to.equal("BODY_TOO_LARGE");
  });

  it("a JSON body in another charset is 415 UNSUPPORTED_CHARSET", async () => {
    const res = await raw("POST", `/v1/orgs/${org.orgId}/stacks`, '{"name":"a"}', {
      ...org.admin.auth,
      "content-type": "application/json; charset=latin1",
    });
    expect(res.status).to.equal(415);
    expect(res.body.error?.code).to.equal("UNSUPPORTED_CHARSET");
  });

  it("the probes and GET reads ignore a body (no 400 from /healthz, /readyz, /openapi.yaml)", async () => {
    for (const path of ["/healthz", "/readyz", "/openapi.yaml", `/v1/orgs/${org.orgId}/stacks`]) {
      // fetch refuses a GET with a body: node:http sends it as a client may.
      const [status, text] = await new Promise<[number, string]>((resolve, reject) => {
        const url = new URL(stack!.platform.baseUrl + path);
        const req = httpRequest(
          {
            host: url.hostname,
            port: url.port,
            path,
            method: "GET",
            headers: { "content-type": "application/json", "content-length": "1", ...org.admin.auth },
          },
          (res) => {
            let text = "";
            res.on("data", (c: Buffer) => (text += c.toString()));
            res.on("end", () => resolve([res.statusCode ?? 0, text]));
          },
        );
        req.on("error", reject);
        req.end("{");
      });
      expect(status, `${path}: ${text.slice(0, 200)}`).to.equal(200);
    }
  });

  it("putOverlay on another org's environment is 404 whatever the body, never a 422 that confirms the id", async () => {
    const created = await stack!.api.request<{ id: string }>("POST", `/v1/orgs/${other.orgId}/stacks`, {
      body: { name: uniqueName("ov").replace(/[^a-z0-9-]/g, "") },
      headers: other.admin.auth,
    });
    const cluster = await stack!.api.request<{ cluster: { id: string } }>("POST", `/v1/orgs/${other.orgId}/clusters`, {
      body: { name: uniqueName("ov") },
      headers: other.admin.auth,
    });
    const env = await stack!.api.request<{ id: string }>("POST", `/v1/stacks/${created.body.id}/environments`, {
      body: { name: "prod", clusterId: cluster.body.cluster.id },
      headers: other.admin.auth,
    });
    expect(env.status).to.equal(201);
    const res = await stack!.api.request("PUT", `/v1/environments/${env.body.id}/overlay`, {
      body: { envJson: {}, composePatchYaml: "not a mapping" },
      headers: org.admin.auth,
    });
    expect(res.status).to.equal(404);
    const own = await stack!.api.request("PUT", `/v1/environments/${env.body.id}/overlay`, {
      body: { envJson: {}, composePatchYaml: "not a mapping" },
      headers: other.admin.auth,
    });
    expect(own.status).to.equal(422);
  });

  it("a log search on another org's (or no) environment is 404 whatever the range (was a 400 first; found by make fuzz)", async () => {
    const tooLong = "since=2026-03-19T00%3A00%3A00.000Z&until=2026-07-14T00%3A00%3A00.000Z";
    const unknown = await stack!.api.get<{ error: { code: string } }>(
      `/v1/environments/8e3a3d44-e673-44ae-ae04-b9bf93e294fd/logs?${tooLong}`,
      org.admin.auth,
    );
    expect(unknown.status).to.equal(404);
    expect(unknown.body.error.code).to.equal("ENVIRONMENT_NOT_FOUND");
  });

  it("paths under /healthz, /readyz and /openapi.yaml are API paths (a JSON 404, never the UI's HTML)", async () => {
    expect(isApiPath("/healthz/x")).to.equal(true);
    expect(isApiPath("/openapi.yaml/x")).to.equal(true);
    expect(isApiPath("/readyz/")).to.equal(true);
    expect(isApiPath("/healthzzz")).to.equal(false);
    for (const path of ["/healthz/x", "/openapi.yaml/x", "/readyz/a/b"]) {
      const res = await fetch(stack!.platform.baseUrl + path);
      expect(res.status, path).to.equal(404);
      expect(res.headers.get("content-type"), path).to.match(/^application\/json/);
      await res.arrayBuffer();
    }
  });

  it("numbers beyond what the database holds are 400s, not 500s (Last-Event-ID, lastEventId, beforeVersion, since)", async () => {
    const id = "6f9619ff-8b86-4d01-b42d-00c04fc964ff";
    const huge = "9".repeat(30);
    const header = await fetch(`${stack!.platform.baseUrl}/v1/deployments/${id}/events`, {
      headers: { ...org.admin.auth, "last-event-id": huge },
    });
    expect(header.status).to.equal(400);
    expect(((await header.json()) as { error: { code: string } }).error.code).to.equal("VALIDATION_FAILED");
    for (const path of [
      `/v1/deployments/${id}/events?lastEventId=${huge}`,
      `/v1/stacks/${id}/releases?beforeVersion=${huge}`,
      `/v1/stacks/${id}/releases?beforeVersion=2147483648`,
      `/v1/environments/${id}/services/app/logs?since=${huge}`,
    ]) {
      const res = await stack!.api.get<{ error: { code: string } }>(path, org.admin.auth);
      expect(res.status, path).to.equal(400);
      expect(res.body.error.code, path).to.equal("VALIDATION_FAILED");
    }
  });

  it("an Idempotency-Key over 255 characters is 400 VALIDATION_FAILED on deploy and rollback (was a 500)", async () => {
    const id = "6f9619ff-8b86-4d01-b42d-00c04fc964ff";
    for (const path of [`/v1/environments/${id}/rollback`, `/v1/environments/${id}/deployments`]) {
      const res = await stack!.api.request<{ error: { code: string; details: { in: string }[] } }>("POST", path, {
        body: path.endsWith("deployments") ? { releaseId: id } : {},
        headers: { ...org.admin.auth, "idempotency-key": "1".repeat(4000) },
      });
      expect(res.status, path).to.equal(400);
      expect(res.body.error.code, path).to.equal("VALIDATION_FAILED");
      expect(res.body.error.details[0]?.in, path).to.equal("header");
    }
  });

  it("U+0000 or a lone surrogate in any string or key is 400 VALIDATION_FAILED naming where, not a 500 from Postgres", async () => {
    expect(findUnstorableText({ a: ["x", "y\u0000"] })).to.equal("/a/1");
    expect(findUnstorableText({ "k\u0000": 1 })).to.equal("/k\u0000");
    expect(findUnstorableText({ a: "ok", b: [1, { c: "fine 😀" }] })).to.equal(null);
    expect(findUnstorableText({ a: "\ud800" })).to.equal("/a");
    const stackRes = await stack!.api.request<{ error: { code: string; details: { in: string; path: string }[] } }>(
      "POST",
      `/v1/orgs/${org.orgId}/stacks`,
      {
        body: { name: uniqueName("nul").replace(/[^a-z0-9-]/g, ""), description: "a\u0000b" },
        headers: org.admin.auth,
      },
    );
    expect(stackRes.status).to.equal(400);
    expect(stackRes.body.error.code).to.equal("VALIDATION_FAILED");
    expect(stackRes.body.error.details[0]).to.include({ in: "body", path: "/description" });
    const list = await stack!.api.get<{ error: { code: string } }>(
      `/v1/orgs/${org.orgId}/audit?actor=${encodeURIComponent("x\u0000")}`,
      org.admin.auth,
    );
    expect(list.status).to.equal(400);
    expect(list.body.error.code).to.equal("VALIDATION_FAILED");
    // A lone surrogate (JSON "\ud800") reached the audit log's json column: a 500.
    const surrogate = await fetch(`${stack!.platform.baseUrl}/v1/orgs/${org.orgId}/clusters`, {
      method: "POST",
      headers: { ...org.admin.auth, "content-type": "application/json" },
      body: '{"name":"\\ud800"}',
    });
    expect(surrogate.status).to.equal(400);
  });

  it("two identical cluster creations at once: one 201, the other 409 CLUSTER_EXISTS (was a 500)", async () => {
    const name = uniqueName("race");
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        stack!.api.request<{ error?: { code: string } }>("POST", `/v1/orgs/${org.orgId}/clusters`, {
          body: { name },
          headers: org.admin.auth,
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).to.deep.equal([201, 409, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.error?.code).to.equal("CLUSTER_EXISTS");
  });

  it("two identical user creations at once: one 201, the others 409 USER_EXISTS (was a 500, found by make fuzz)", async () => {
    const email = `${uniqueName("race")}@example.test`;
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        stack!.api.request<{ error?: { code: string } }>("POST", `/v1/orgs/${org.orgId}/users`, {
          body: { email, password: "6ktrvcwkdbt6-long enough", role: "CLUSTER_ADMIN" },
          headers: org.admin.auth,
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses, JSON.stringify(results.map((r) => r.body))).to.deep.equal([201, ...Array(7).fill(409)]);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.error?.code).to.equal("USER_EXISTS");
  });
});

/**
 * Refused attempts and scale outcomes in the audit log, on the real gateway, Postgres, NATS and a scripted agent:
 * a 403 from RBAC and a 4xx validation refusal of a mutating route are audited with the reason; unauthenticated
 * requests and reads are not; a scale writes its audit row with its outcome, success or failure.
 */
import { expect } from "chai";
import type { Db } from "../_shared/db.js";
import { startFakeAgent, type FakeAgent } from "../_shared/testing/fake-agent.js";
import {
  createOrgWithAdmin,
  createUserWithRole,
  uniqueName,
  type TestOrg,
  type TestUser,
} from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import type { TestNatsServer } from "../_shared/testing/nats-server.js";
import type { TestPlatform } from "../_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";
import { until } from "../_shared/testing/wait.js";

interface AuditRow {
  action: string;
  actor_id: string | null;
  target_id: string | null;
  ip: string | null;
  data_json: Record<string, unknown>;
}

describe("audit of refused attempts and of scale outcomes (real gateway, Postgres, NATS)", function () {
  this.timeout(60_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;
  let viewer: TestUser;
  let agent: FakeAgent;
  let envId: string;

  const rows = (action: string) =>
    db("audit_events").where({ org_id: org.orgId, action }).orderBy("ts", "asc").select<AuditRow[]>("*");
  const waitRows = (action: string, count: number) =>
    until(`${count} ${action} rows`, async () => {
      const r = await rows(action);
      return r.length >= count ? r : undefined;
    });

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack());
    org = await createOrgWithAdmin(api);
    viewer = await createUserWithRole(api, org, "VIEWER");
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "audit");
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("aud").replace(/[^a-z0-9-]/g, "") },
      headers: org.admin.auth,
    });
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      body: { name: "prod", clusterId: agent.clusterId },
      headers: org.admin.auth,
    });
    envId = env.body.id;
  });
  after(async () => {
    await agent?.close();
    await stopTestStack({ db, nats, platform });
  });

  it("audits a 403 from RBAC on a mutating route with the missing permission as the reason", async () => {
    const res = await api.request("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: "nope" },
      headers: viewer.auth,
    });
    expect(res.status).to.equal(403);
    const [row] = await waitRows("request.denied", 1);
    expect(row).to.deep.include({ actor_id: viewer.userId, target_id: "createStack" });
    expect(row!.ip).to.be.a("string");
    expect(row!.data_json).to.deep.equal({
      method: "POST",
      route: "/v1/orgs/{orgId}/stacks",
      status: 403,
      code: "PERMISSION_DENIED",
      reason: 'this needs the "stacks:write" permission',
    });
  });

  it("audits a validation refusal (400) and a semantic refusal (422) of mutating routes, not the request body", async () => {
    const bad = await api.request("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: "Not Valid", password: "planted-password-123" },
      headers: org.admin.auth,
    });
    expect(bad.status).to.equal(400);
    const stackId = (await db("stacks").where({ org_id: org.orgId }).first("id")).id as string;
    const policy = await api.request("POST", `/v1/stacks/${stackId}/releases`, {
      body: { sourceType: "upload", composeYaml: "services:\n  w:\n    image: x\n    privileged: true\n" },
      headers: org.admin.auth,
    });
    expect(policy.status).to.equal(422);
    const refused = await waitRows("request.refused", 2);
    expect(refused.map((r) => [r.target_id, r.data_json.status, r.data_json.code])).to.deep.equal([
      ["createStack", 400, "VALIDATION_FAILED"],
      ["createRelease", 422, "COMPOSE_POLICY_VIOLATION"],
    ]);
    expect(String(refused[1]!.data_json.reason)).to.contain("services.w.privileged (privileged)");
    expect(JSON.stringify(refused)).not.to.contain("planted-password-123");
  });

  it("does not audit unauthenticated requests or refused reads", async () => {
    const before = (await rows("request.denied")).length + (await rows("request.refused")).length;
    expect((await api.request("POST", `/v1/orgs/${org.orgId}/stacks`, { body: { name: "x" } })).status).to.equal(401);
    expect((await api.get(`/v1/orgs/${org.orgId}/users`, viewer.auth)).status).to.equal(403);
    // A later audited refusal proves the earlier ones had time to be written, had they been.
    await api.request("POST", `/v1/orgs/${org.orgId}/stacks`, { body: { name: "y" }, headers: viewer.auth });
    await waitRows("request.denied", 2);
    const after = (await rows("request.denied")).length + (await rows("request.refused")).length;
    expect(after - before).to.equal(1);
  });

  it("audits a scale with its outcome: succeeded with from/to, failed with the agent's code", async () => {
    agent.handlers.set("ScaleService", (command) => {
      const p = command.payload as { service: string; replicas: number };
      return { service: `x_${p.service}`, previousReplicas: 1, replicas: p.replicas };
    });
    const ok = await api.request("POST", `/v1/environments/${envId}/services/web/scale`, {
      body: { replicas: 3 },
      headers: org.admin.auth,
    });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
    agent.handlers.set("ScaleService", () => {
      throw new Error("docker said no");
    });
    const failed = await api.request("POST", `/v1/environments/${envId}/services/web/scale`, {
      body: { replicas: 5 },
      headers: org.admin.auth,
    });
    expect(failed.status).to.equal(502);
    const scaled = await rows("service.scale");
    expect(scaled.map((r) => r.data_json)).to.deep.equal([
      { service: "web", requested: 3, outcome: "succeeded", from: 1, to: 3, desiredState: true },
      {
        service: "web",
        requested: 5,
        outcome: "failed",
        code: "HANDLER_FAILED",
        reason: "the agent refused: Error: docker said no",
      },
    ]);
  });
});

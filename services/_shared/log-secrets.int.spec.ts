import { expect } from "chai";
import sinon from "sinon";
import { TEST_BOOTSTRAP_TOKEN } from "./testing/platform.js";
import { uniqueName } from "./testing/fixtures.js";
import { startTestStack, stopTestStack, type TestStack } from "./testing/stack.js";

/**
 * Secret canary for logs: the identity, token, cluster and secret flows run with LOG_LEVEL=debug through the real
 * gateway, and no planted password, token or secret value may appear in any line the process logs.
 */
describe("no secret in any log line at LOG_LEVEL=debug (real gateway, Postgres, NATS)", function () {
  this.timeout(120_000);
  let stack: Partial<TestStack> = {};
  const lines: string[] = [];
  const restore: Array<() => void> = [];

  before(async () => {
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      const stub = sinon.stub(console, method).callsFake((...args: unknown[]) => {
        lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      });
      restore.push(() => stub.restore());
    }
    stack = await startTestStack({ LOG_LEVEL: "debug" });
  });
  after(async () => {
    await stopTestStack(stack);
    for (const r of restore) r();
  });

  it("logs the requests without their passwords, tokens or secret values", async () => {
    const api = stack.api!;
    const planted: Record<string, string> = { bootstrapToken: TEST_BOOTSTRAP_TOKEN };
    const name = uniqueName("canary");
    const email = `${name}@example.test`;
    planted.password = `canary-password-${Date.now()}-Zq9`;
    const org = await api.request<{ org: { id: string } }>("POST", "/v1/orgs", {
      body: { name, admin: { email, password: planted.password } },
      headers: { "x-bootstrap-token": TEST_BOOTSTRAP_TOKEN },
    });
    expect(org.status).to.equal(201);
    const orgId = org.body.org.id;
    const wrong = await api.request("POST", "/v1/auth/login", { body: { email, password: `${planted.password}-x` } });
    expect(wrong.status).to.equal(401);
    planted.wrongPassword = `${planted.password}-x`;
    const login = await api.request<{ accessToken: string; refreshToken: string }>("POST", "/v1/auth/login", {
      body: { email, password: planted.password, orgId },
    });
    expect(login.status).to.equal(200);
    planted.accessToken = login.body.accessToken;
    const refreshed = await api.request<{ accessToken: string; refreshToken: string }>("POST", "/v1/auth/refresh", {
      body: { refreshToken: login.body.refreshToken },
    });
    expect(refreshed.status).to.equal(200);
    planted.refreshToken = login.body.refreshToken;
    planted.rotatedRefreshToken = refreshed.body.refreshToken;
    const auth = { authorization: `Bearer ${refreshed.body.accessToken}` };

    const token = await api.request<{ token: string }>("POST", `/v1/orgs/${orgId}/tokens`, {
      body: { name: "ci", scopes: ["audit:read"] },
      headers: auth,
    });
    expect(token.status).to.equal(201);
    planted.apiToken = token.body.token;
    expect((await api.get(`/v1/orgs/${orgId}/audit`, { authorization: `Bearer ${planted.apiToken}` })).status).to.equal(
      200,
    );

    const cluster = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${orgId}/clusters`,
      { body: { name: "canary" }, headers: auth },
    );
    expect(cluster.status).to.equal(201);
    planted.registrationToken = cluster.body.registrationToken;
    const stackRes = await api.request<{ id: string }>("POST", `/v1/orgs/${orgId}/stacks`, {
      body: { name: "canary" },
      headers: auth,
    });
    expect(stackRes.status).to.equal(201);
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stackRes.body.id}/environments`, {
      body: { name: "prod", clusterId: cluster.body.cluster.id },
      headers: auth,
    });
    expect(env.status).to.equal(201);
    planted.secretValue = `canary-secret-value-${Date.now()}`;
    const secret = await api.request("PUT", `/v1/environments/${env.body.id}/secrets/db_password`, {
      body: { value: planted.secretValue },
      headers: auth,
    });
    expect(secret.status).to.equal(201);
    expect((await api.request("POST", "/v1/auth/logout", { body: {}, headers: auth })).status).to.be.lessThan(300);

    expect(lines.length, "debug logging produced output").to.be.greaterThan(10);
    const hits = Object.entries(planted).flatMap(([what, value]) =>
      lines.filter((l) => l.includes(value)).map((l) => `${what}: ${l.slice(0, 200)}`),
    );
    expect(hits).to.deep.equal([]);
  });
});

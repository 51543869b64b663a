import { expect } from "chai";
import { ContractClient } from "../_shared/testing/http.js";
import { type TestNatsServer } from "../_shared/testing/nats-server.js";
import { TEST_BOOTSTRAP_TOKEN, startTestPlatform, type TestPlatform } from "../_shared/testing/platform.js";
import type { Db } from "../_shared/db.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";

describe("gateway health endpoints (real Postgres + NATS)", function () {
  this.timeout(30_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack());
  });
  after(async () => {
    await stopTestStack({ db, nats, platform });
  });

  it("/healthz answers 200 while the process is up", async () => {
    const res = await api.get<{ status: string }>("/healthz");
    expect(res.status).to.equal(200);
    expect(res.body.status).to.equal("ok");
  });

  it("/readyz answers 200 when Postgres and NATS answer and migrations are current", async () => {
    const res = await api.get<{ ready: boolean }>("/readyz");
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.include({ status: "ready", ready: true });
  });

  it("/openapi.yaml serves the spec", async () => {
    const res = await api.get<string>("/openapi.yaml");
    expect(res.status).to.equal(200);
    expect(res.body).to.match(/^openapi: 3\.1\.0/);
  });

  it("unknown routes get 404 in the one error shape", async () => {
    const res = await fetch(`${platform.baseUrl}/v1/nope`);
    expect(res.status).to.equal(404);
    // Every error body also carries the request's id (X-Request-Id).
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(body.error).to.deep.include({ code: "NOT_FOUND", message: "Not found" });
    expect(Object.keys(body.error).sort()).to.deep.equal(["code", "message", "requestId"]);
  });

  it("/readyz answers 503 with the reason when Postgres is unreachable", async () => {
    const broken = await startTestPlatform(nats, { DATABASE_URL: "postgres://postgres@127.0.0.1:1/none" });
    try {
      const res = await new ContractClient(broken.baseUrl).get<{
        ready: boolean;
        checks: { postgres: { ok: boolean; error?: string }; migrations: { ok: boolean } };
      }>("/readyz");
      expect(res.status).to.equal(503);
      expect(res.body.ready).to.equal(false);
      // Anonymous callers get the verdicts only: the reasons name hosts and driver errors.
      expect(res.body.checks).to.deep.equal({ postgres: { ok: false }, nats: { ok: true }, migrations: { ok: false } });
      const detailed = await new ContractClient(broken.baseUrl).get<{
        ready: boolean;
        checks: { postgres: { ok: boolean; error?: string }; migrations: { ok: boolean } };
      }>("/readyz", { "x-bootstrap-token": TEST_BOOTSTRAP_TOKEN });
      expect(detailed.status).to.equal(503);
      expect(detailed.body.checks.postgres.ok).to.equal(false);
      expect(detailed.body.checks.postgres.error).to.match(/ECONNREFUSED|timeout|no answer/i);
      expect(detailed.body.checks.migrations).to.deep.equal({ ok: false, error: "postgres unreachable" });
    } finally {
      await broken.stop();
    }
  });
});

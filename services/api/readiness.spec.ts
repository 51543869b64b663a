import { expect } from "chai";
import sinon from "sinon";
import { checkReadiness } from "./readiness.js";

const ok = async (): Promise<void> => {};

describe("readiness", () => {
  it("is ready when every probe passes", async () => {
    const result = await checkReadiness({ postgres: ok, nats: ok, pendingMigrations: async () => [] });
    expect(result).to.deep.equal({
      ready: true,
      checks: { postgres: { ok: true }, nats: { ok: true }, migrations: { ok: true } },
    });
  });

  it("names pending migrations", async () => {
    const result = await checkReadiness({ postgres: ok, nats: ok, pendingMigrations: async () => ["2026_x.ts"] });
    expect(result.ready).to.equal(false);
    expect(result.checks.migrations).to.deep.equal({
      ok: false,
      error: "1 migration(s) pending",
      pending: ["2026_x.ts"],
    });
  });

  it("does not ask for migrations when Postgres is down", async () => {
    const pending = sinon.stub().resolves([]);
    const result = await checkReadiness({
      postgres: async () => {
        throw new Error("connect ECONNREFUSED");
      },
      nats: ok,
      pendingMigrations: pending,
    });
    expect(result.ready).to.equal(false);
    expect(result.checks.postgres).to.deep.equal({ ok: false, error: "connect ECONNREFUSED" });
    expect(pending.called).to.equal(false);
  });

  it("times out a probe that hangs", async () => {
    const result = await checkReadiness(
      { postgres: ok, nats: () => new Promise(() => {}), pendingMigrations: async () => [] },
      50,
    );
    expect(result.checks.nats).to.deep.equal({ ok: false, error: "no answer within 50 ms" });
  });
});

/**
 * Integration events leave only after their change committed (real Postgres transactions), through the first
 * installed sink, and a failing sink never fails the change.
 */
import { expect } from "chai";
import type { Db } from "./db.js";
import { afterCommit } from "./after-commit.js";
import { installIntegrationSink, integrationEnvelope, publishIntegrationEvent } from "./integration-events.js";
import { createTestDb } from "./testing/database.js";

describe("integration events after commit (real Postgres)", () => {
  let db: Db;
  before(async () => {
    db = await createTestDb();
  });
  after(async () => {
    await db.destroy();
  });

  it("publishes after a commit, never for a rolled-back transaction", async () => {
    const sent: string[] = [];
    const remove = installIntegrationSink((subject) => sent.push(subject));
    try {
      await db.transaction(async (trx) => {
        await trx.raw("select 1");
        afterCommit(trx, () => publishIntegrationEvent("stackyard.o.committed", integrationEnvelope("o", "t", {})));
        expect(sent, "not before the commit").to.deep.equal([]);
      });
      await new Promise((r) => setImmediate(r));
      await db
        .transaction(async (trx) => {
          afterCommit(trx, () => publishIntegrationEvent("stackyard.o.rolledback", integrationEnvelope("o", "t", {})));
          throw new Error("roll back");
        })
        .catch(() => undefined);
      afterCommit(db, () => publishIntegrationEvent("stackyard.o.outside", integrationEnvelope("o", "t", {})));
      await new Promise((r) => setTimeout(r, 50));
      expect(sent).to.deep.equal(["stackyard.o.committed", "stackyard.o.outside"]);
    } finally {
      remove();
    }
  });

  it("uses the first sink only, and a throwing sink does not throw", () => {
    const first: string[] = [];
    const second: string[] = [];
    const removeFirst = installIntegrationSink((s) => first.push(s));
    const removeSecond = installIntegrationSink((s) => second.push(s));
    publishIntegrationEvent("stackyard.o.a", integrationEnvelope("o", "t", {}));
    removeFirst();
    publishIntegrationEvent("stackyard.o.b", integrationEnvelope("o", "t", {}));
    removeSecond();
    const removeBroken = installIntegrationSink(() => {
      throw new Error("connection closed");
    });
    expect(() => publishIntegrationEvent("stackyard.o.c", integrationEnvelope("o", "t", {}))).not.to.throw();
    removeBroken();
    expect(first).to.deep.equal(["stackyard.o.a"]);
    expect(second).to.deep.equal(["stackyard.o.b"]);
  });
});

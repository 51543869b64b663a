import { expect } from "chai";
import type { Db } from "../_shared/db.js";
import { createTestDb } from "../_shared/testing/database.js";

/** The audit trail cannot be rewritten from the app's connection: only appended to (or pruned by a retention job). */
describe("audit_events is append-only (real Postgres)", function () {
  let db: Db;
  let orgId: string;

  before(async () => {
    db = await createTestDb();
  });
  after(() => db.destroy());

  beforeEach(async () => {
    const [org] = (await db("orgs")
      .insert({ name: `audit-${Date.now()}` })
      .returning("id")) as { id: string }[];
    orgId = org!.id;
    await db("audit_events").insert({ org_id: orgId, actor_type: "user", actor_id: "u1", action: "stack.create" });
  });

  const refused = async (attempt: Promise<unknown>, op: string): Promise<void> => {
    const err = await attempt.then(
      () => null,
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(err, `${op} must be refused`).to.not.equal(null);
    expect(err?.code).to.equal("42501");
    expect(err?.message).to.contain(`audit_events is append-only: ${op} refused`);
  };

  it("refuses UPDATE of a recorded event", async () => {
    await refused(db("audit_events").where({ org_id: orgId }).update({ action: "nothing.happened" }), "UPDATE");
    expect(await db("audit_events").where({ org_id: orgId, action: "stack.create" })).to.have.length(1);
  });

  it("refuses DELETE and TRUNCATE outside a retention job", async () => {
    await refused(db("audit_events").where({ org_id: orgId }).del(), "DELETE");
    await refused(db.raw("TRUNCATE audit_events"), "TRUNCATE");
    expect(await db("audit_events").where({ org_id: orgId })).to.have.length(1);
  });

  it("refuses UPDATE even inside a retention job", async () => {
    await refused(
      db.transaction(async (trx) => {
        await trx.raw("SET LOCAL stackyard.audit_retention = 'on'");
        await trx("audit_events").where({ org_id: orgId }).update({ actor_id: "someone-else" });
      }),
      "UPDATE",
    );
  });

  it("lets a declared retention job remove events, and only within its own transaction", async () => {
    await db.transaction(async (trx) => {
      await trx.raw("SET LOCAL stackyard.audit_retention = 'on'");
      await trx("audit_events").where({ org_id: orgId }).del();
    });
    expect(await db("audit_events").where({ org_id: orgId })).to.have.length(0);
    await db("audit_events").insert({ org_id: orgId, actor_type: "system", actor_id: null, action: "x.y" });
    await refused(db("audit_events").where({ org_id: orgId }).del(), "DELETE");
  });
});

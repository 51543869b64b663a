import { expect } from "chai";
import { TenantScope } from "../_shared/tenant.js";
import type { Db } from "../_shared/db.js";
import { AppError } from "../_shared/errors.js";
import { createTestDb } from "../_shared/testing/database.js";
import { parseMasterKeys } from "./secrets-crypto.js";
import { deleteSecret, listSecrets, loadSecretValues, putSecret } from "./secrets-repo.js";
import { insertStackFixture, testMasterKeySpec, type StackFixture } from "./test-fixtures.js";

const VALUE = "s3cr3t-Value-that-must-never-leak";

describe("secrets repository (real Postgres)", () => {
  let db: Db;
  let fx: StackFixture;
  let other: StackFixture;
  const keys = parseMasterKeys(testMasterKeySpec("k1"));
  const actor = "3f0f2b7e-1111-4000-8000-000000000001";

  before(async () => {
    db = await createTestDb();
    fx = await insertStackFixture(db, "secrets");
    other = await insertStackFixture(db, "other");
  });
  after(async () => {
    await db.destroy();
  });

  it("stores ciphertext only: the row neither equals nor contains the value", async () => {
    const created = await putSecret(
      new TenantScope(db, fx.orgId),
      { environmentId: fx.environmentId, name: "db_password", value: VALUE, services: ["web", "api", "web"], actor },
      keys,
    );
    expect(created).to.deep.include({ name: "db_password", version: 1, services: ["api", "web"], created: true });
    expect(created.updatedBy).to.equal(actor);
    expect(created).not.to.have.property("value");

    const row = await db("environment_secrets")
      .where({ environment_id: fx.environmentId, name: "db_password" })
      .first();
    const rawRow = JSON.stringify(row) + (row.ciphertext as Buffer).toString("latin1");
    expect(rawRow).not.to.include(VALUE);
    expect((row.ciphertext as Buffer).includes(Buffer.from(VALUE))).to.equal(false);
    expect(row.key_id).to.equal("k1");
  });

  it("rotates: version + 1, a new nonce, the new value", async () => {
    const before = await db("environment_secrets").where({ name: "db_password" }).first();
    const rotated = await putSecret(
      new TenantScope(db, fx.orgId),
      { environmentId: fx.environmentId, name: "db_password", value: "rotated", services: [], actor: null },
      keys,
    );
    expect(rotated).to.deep.include({ version: 2, services: [], created: false, updatedBy: null });
    const after = await db("environment_secrets").where({ name: "db_password" }).first();
    expect((after.nonce as Buffer).equals(before.nonce)).to.equal(false);
    const values = await loadSecretValues(new TenantScope(db, fx.orgId), fx.environmentId, keys);
    expect(values.map((v) => [v.name, v.version, v.value.toString()])).to.deep.equal([["db_password", 2, "rotated"]]);
  });

  it("lists metadata only, never a value", async () => {
    await putSecret(
      new TenantScope(db, fx.orgId),
      { environmentId: fx.environmentId, name: "api.key", value: VALUE, services: ["api"], actor },
      keys,
    );
    const list = await listSecrets(new TenantScope(db, fx.orgId), fx.environmentId);
    expect(list.map((s) => s.name)).to.deep.equal(["api.key", "db_password"]);
    for (const item of list) {
      expect(Object.keys(item).sort()).to.deep.equal(["name", "services", "updatedAt", "updatedBy", "version"]);
    }
    expect(JSON.stringify(list)).not.to.include(VALUE);
  });

  it("keeps orgs apart: another org sees, changes and deletes nothing", async () => {
    expect(await listSecrets(new TenantScope(db, other.orgId), fx.environmentId)).to.deep.equal([]);
    expect(await loadSecretValues(new TenantScope(db, other.orgId), fx.environmentId, keys)).to.deep.equal([]);
    await expectAppError(
      putSecret(
        new TenantScope(db, other.orgId),
        { environmentId: fx.environmentId, name: "db_password", value: "x", services: [], actor: null },
        keys,
      ),
      404,
      "ENVIRONMENT_NOT_FOUND",
    );
    await expectAppError(
      deleteSecret(new TenantScope(db, other.orgId), fx.environmentId, "db_password"),
      404,
      "SECRET_NOT_FOUND",
    );
    expect((await listSecrets(new TenantScope(db, fx.orgId), fx.environmentId)).length).to.equal(2);
  });

  it("creates version 1 exactly once under concurrent first writes", async () => {
    const writes = Array.from({ length: 8 }, (_, i) =>
      putSecret(
        new TenantScope(db, fx.orgId),
        { environmentId: fx.environmentId, name: "race", value: `v${i}`, services: [], actor: null },
        keys,
      ),
    );
    const results = await Promise.all(writes);
    expect(results.map((r) => r.version).sort((a, b) => a - b)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(results.filter((r) => r.created)).to.have.length(1);
  });

  it("validates name, size and services", async () => {
    const put = (name: string, value: string, services: string[] = []) =>
      putSecret(
        new TenantScope(db, fx.orgId),
        { environmentId: fx.environmentId, name, value, services, actor: null },
        keys,
      );
    await expectAppError(put("-bad", "x"), 422, "SECRET_NAME_INVALID");
    await expectAppError(put("ok", ""), 422, "SECRET_VALUE_SIZE");
    await expectAppError(put("ok", "x".repeat(500 * 1024)), 422, "SECRET_VALUE_SIZE");
    await expectAppError(put("ok", "x", ["web app"]), 422, "SECRET_SERVICES_INVALID");
  });

  it("deletes and returns the deleted metadata", async () => {
    const deleted = await deleteSecret(new TenantScope(db, fx.orgId), fx.environmentId, "api.key");
    expect(deleted).to.deep.include({ name: "api.key", version: 1, services: ["api"] });
    await expectAppError(
      deleteSecret(new TenantScope(db, fx.orgId), fx.environmentId, "api.key"),
      404,
      "SECRET_NOT_FOUND",
    );
  });
});

async function expectAppError(promise: Promise<unknown>, status: number, code: string): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    expect((err as AppError).code).to.equal(status);
    expect((err as AppError).type).to.equal(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

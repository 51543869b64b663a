import { expect } from "chai";
import { TenantScope } from "../_shared/tenant.js";
import type { Db } from "../_shared/db.js";
import { createTestDb } from "../_shared/testing/database.js";
import { MasterKeyConfigError, parseMasterKeys, rotateSecrets, verifyMasterKeys } from "./secrets-crypto.js";
import { loadSecretValues, putSecret } from "./secrets-repo.js";
import { insertStackFixture, testMasterKeySpec, type StackFixture } from "./test-fixtures.js";

describe("master key rotation and start-up check (real Postgres)", () => {
  let db: Db;
  let fx: StackFixture;
  const oldSpec = testMasterKeySpec("k1");
  const oldKeys = parseMasterKeys(oldSpec);

  before(async () => {
    db = await createTestDb();
    fx = await insertStackFixture(db, "rotation");
  });
  after(async () => {
    await db.destroy();
  });

  it("verifies, rotates in batches to the new active key, and then needs only the new key", async () => {
    for (let i = 0; i < 7; i++) {
      await putSecret(
        new TenantScope(db, fx.orgId),
        { environmentId: fx.environmentId, name: `s${i}`, value: `value-${i}`, services: [], actor: null },
        oldKeys,
      );
    }
    expect(await verifyMasterKeys(db, oldKeys)).to.deep.equal({ checkedKeyIds: ["k1"] });

    const newSpec = testMasterKeySpec("k2");
    const bothKeys = parseMasterKeys(`${newSpec},${oldSpec}`);
    const before = await db("environment_secrets").select("name", "nonce", "version", "updated_at").orderBy("name");

    expect(await rotateSecrets(db, bothKeys, { batchSize: 3 })).to.deep.equal({ reencrypted: 7 });
    const rows = await db("environment_secrets")
      .select("name", "key_id", "nonce", "version", "updated_at")
      .orderBy("name");
    expect(rows.map((r: { key_id: string }) => r.key_id)).to.deep.equal(Array(7).fill("k2"));
    rows.forEach((row: { nonce: Buffer; version: number; updated_at: Date }, i: number) => {
      expect(row.nonce.equals(before[i].nonce)).to.equal(false);
      expect(row.version).to.equal(before[i].version);
      expect(row.updated_at.getTime()).to.equal(before[i].updated_at.getTime());
    });

    const newOnly = parseMasterKeys(newSpec);
    const values = await loadSecretValues(new TenantScope(db, fx.orgId), fx.environmentId, newOnly);
    expect(values.map((v) => v.value.toString())).to.deep.equal([0, 1, 2, 3, 4, 5, 6].map((i) => `value-${i}`));
    expect(await rotateSecrets(db, bothKeys)).to.deep.equal({ reencrypted: 0 });

    // The old key alone no longer opens anything: the start-up check says so instead of a deploy failing later.
    await expectRejection(verifyMasterKeys(db, oldKeys), /"k2", which is not configured/);
  });

  it("fails loudly at start when the configured key is wrong", async () => {
    const impostor = parseMasterKeys(testMasterKeySpec("k2"));
    await expectRejection(verifyMasterKeys(db, impostor), /encrypted under master key "k2" could not be decrypted/);
  });
});

async function expectRejection(promise: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(MasterKeyConfigError);
    expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail("expected verifyMasterKeys to reject");
}

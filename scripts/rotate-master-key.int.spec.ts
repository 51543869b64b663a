import { execFile } from "node:child_process";
import { TenantScope } from "../services/_shared/tenant.js";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import type { Db } from "../services/_shared/db.js";
import { createTestDb, testDatabaseUrl } from "../services/_shared/testing/database.js";
import { parseMasterKeys } from "../services/stacks/secrets-crypto.js";
import { loadSecretValues, putSecret } from "../services/stacks/secrets-repo.js";
import { insertStackFixture, testMasterKeySpec } from "../services/stacks/test-fixtures.js";
import {
  insertGitCredential,
  loadGitCredentialSecret,
} from "../services/stacks/git-credentials/git-credentials.repo.js";

import { decryptTotpSecret, encryptTotpSecret } from "../services/auth/mfa-crypto.js";
import {
  decryptWebhookSecret,
  encryptWebhookSecret,
  type SyncSourceRow,
} from "../services/stacks/git-sync/sources.repo.js";

const SCRIPT = fileURLToPath(new URL("./rotate-master-key.ts", import.meta.url));

function runRotation(masterKey: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", SCRIPT],
      {
        env: { PATH: process.env.PATH, DATABASE_URL: testDatabaseUrl(), CONTROLPLANE_MASTER_KEY: masterKey },
        timeout: 30_000,
      },
      (err, _stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stderr }),
    );
  });
}

describe("scripts/rotate-master-key.ts (real Postgres)", function () {
  this.timeout(60_000);
  let db: Db;
  before(async () => {
    db = await createTestDb();
  });
  after(async () => {
    await db?.destroy();
  });

  it("re-encrypts every secret under the new first key, which alone then decrypts them", async () => {
    const oldSpec = testMasterKeySpec("k1");
    const newSpec = testMasterKeySpec("k2");
    const fixture = await insertStackFixture(db, "rotate");
    for (const name of ["a", "b", "c"]) {
      await putSecret(
        new TenantScope(db, fixture.orgId),
        { environmentId: fixture.environmentId, name, value: `value-${name}`, services: [], actor: null },
        parseMasterKeys(oldSpec),
      );
    }
    const credential = await insertGitCredential(
      new TenantScope(db, fixture.orgId),
      {
        name: "rotate-token",
        kind: "https",
        publicKey: null,
        keyFingerprint: null,
        username: "u",
        secret: Buffer.from("token-value"),
        createdBy: null,
      },
      parseMasterKeys(oldSpec),
    );

    const [user] = (await db("users")
      .insert({ org_id: fixture.orgId, email: "mfa@example.test", password_hash: "x", role: "VIEWER" })
      .returning("id")) as Array<{ id: string }>;
    const totpSecret = Buffer.from("12345678901234567890");
    await db("user_mfa").insert({
      org_id: fixture.orgId,
      user_id: user!.id,
      ...encryptTotpSecret(parseMasterKeys(oldSpec), totpSecret, { orgId: fixture.orgId, userId: user!.id }),
    });

    const sourceId = "6f1c2d3e-4a5b-4c6d-8e7f-901234567890";
    await db("git_sync_sources").insert({
      id: sourceId,
      org_id: fixture.orgId,
      stack_id: fixture.stackId,
      repo_url: "https://git.example/a.git",
      ref: "main",
      path: "compose.yml",
      poll_interval_seconds: 60,
      ...encryptWebhookSecret(parseMasterKeys(oldSpec), "whsec_rotate", fixture.orgId, sourceId),
    });

    const wrong = await runRotation(`${newSpec},${testMasterKeySpec("k1")}`);
    expect(wrong.code).to.not.equal(0);
    expect(wrong.stderr).to.include('master key "k1"');
    expect((await db("environment_secrets").distinct("key_id")).map((r) => r.key_id)).to.deep.equal(["k1"]);

    const run = await runRotation(`${newSpec},${oldSpec}`);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.include('re-encrypted 3 secret(s) under "k2"; 0 left');
    expect((await db("environment_secrets").distinct("key_id")).map((r) => r.key_id)).to.deep.equal(["k2"]);
    const values = await loadSecretValues(
      new TenantScope(db, fixture.orgId),
      fixture.environmentId,
      parseMasterKeys(newSpec),
    );
    expect(values.map((v) => v.value.toString())).to.deep.equal(["value-a", "value-b", "value-c"]);
    expect(values.map((v) => v.version)).to.deep.equal([1, 1, 1]);
    expect(run.stderr).to.include("re-encrypted 1 git credential(s); 0 left");
    const token = await loadGitCredentialSecret(
      new TenantScope(db, fixture.orgId),
      credential.id,
      parseMasterKeys(newSpec),
    );
    expect(token.secret.toString()).to.equal("token-value");
    expect(run.stderr).to.include("re-encrypted 1 TOTP secret(s); 0 left");
    const mfaRow = await db("user_mfa").where({ user_id: user!.id }).first();
    expect(mfaRow.key_id).to.equal("k2");
    const opened = decryptTotpSecret(parseMasterKeys(newSpec), mfaRow, { orgId: fixture.orgId, userId: user!.id });
    expect(opened.equals(totpSecret)).to.equal(true);
    expect(run.stderr).to.include("re-encrypted 1 git sync webhook secret(s)");
    const source = (await db("git_sync_sources").where({ id: sourceId }).first()) as SyncSourceRow;
    expect(source.key_id).to.equal("k2");
    expect(decryptWebhookSecret(parseMasterKeys(newSpec), source)).to.equal("whsec_rotate");
  });
});

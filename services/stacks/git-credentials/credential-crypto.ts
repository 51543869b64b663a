/**
 * Git credential material at rest: AES-256-GCM under CONTROLPLANE_MASTER_KEY, the same scheme as environment
 * secrets (services/stacks/secrets-crypto.ts), with its own additional authenticated data binding a ciphertext to
 * its org and credential row, so a row copied over another fails to decrypt.
 */
import type { Knex } from "knex";
import { MasterKeyConfigError, type MasterKeys } from "../../_shared/master-keys.js";
import { decryptAtRest, encryptAtRest, reencryptTable, type EncryptedSecret } from "../secrets-crypto.js";

export interface CredentialIdentity {
  orgId: string;
  credentialId: string;
}

function aadOf(identity: CredentialIdentity): Buffer {
  return Buffer.from(JSON.stringify(["stackyard.git-credential.v1", identity.orgId, identity.credentialId]));
}

export const encryptCredential = (keys: MasterKeys, plaintext: Buffer, identity: CredentialIdentity): EncryptedSecret =>
  encryptAtRest(keys, plaintext, aadOf(identity));

export const decryptCredential = (keys: MasterKeys, record: EncryptedSecret, identity: CredentialIdentity): Buffer =>
  decryptAtRest(keys, record, aadOf(identity));

interface CredentialRow {
  id: string;
  org_id: string;
  ciphertext: Buffer;
  nonce: Buffer;
  auth_tag: Buffer;
  key_id: string;
}
const ROW_COLUMNS = ["id", "org_id", "ciphertext", "nonce", "auth_tag", "key_id"] as const;
const recordOf = (r: CredentialRow): EncryptedSecret => ({
  ciphertext: r.ciphertext,
  nonce: r.nonce,
  authTag: r.auth_tag,
  keyId: r.key_id,
});
const identityOf = (r: CredentialRow): CredentialIdentity => ({ orgId: r.org_id, credentialId: r.id });

/** Start-up check (system-wide): one credential per key id in use must decrypt, like verifyMasterKeys. */
export async function verifyGitCredentialKeys(db: Knex, keys: MasterKeys): Promise<{ checkedKeyIds: string[] }> {
  const rows = await db
    .select<CredentialRow[]>(...ROW_COLUMNS)
    .from("git_credentials")
    .distinctOn("key_id")
    .orderBy([{ column: "key_id" }, { column: "id" }]);
  const problems: string[] = [];
  for (const row of rows) {
    try {
      decryptCredential(keys, recordOf(row), identityOf(row)).fill(0);
    } catch (err) {
      problems.push(`git credentials: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new MasterKeyConfigError(problems);
  return { checkedKeyIds: rows.map((r) => r.key_id) };
}

/** Master-key rotation of git credentials (scripts/rotate-master-key.ts), in batches like rotateSecrets. */
export async function rotateGitCredentials(
  db: Knex,
  keys: MasterKeys,
  batchSize = 100,
): Promise<{ reencrypted: number }> {
  const reencrypted = await reencryptTable<CredentialRow>(
    db,
    keys,
    { table: "git_credentials", columns: ROW_COLUMNS, aadOf: (row) => aadOf(identityOf(row)) },
    batchSize,
  );
  return { reencrypted };
}

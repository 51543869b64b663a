/**
 * Git credential material at rest: AES-256-GCM under CONTROLPLANE_MASTER_KEY, the same scheme as environment
 * secrets (services/stacks/secrets-crypto.ts), with its own additional authenticated data binding a ciphertext to
 * its org and credential row, so a row copied over another fails to decrypt.
 */
import type { Knex } from "knex";
import type { MasterKeys } from "../../_shared/master-keys.js";
import {
  decryptAtRest,
  encryptAtRest,
  reencryptTable,
  verifyTableKeys,
  type EncryptedSecret,
} from "../secrets-crypto.js";

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
const identityOf = (r: CredentialRow): CredentialIdentity => ({ orgId: r.org_id, credentialId: r.id });

const GIT_CREDENTIALS_TABLE = {
  table: "git_credentials",
  columns: ROW_COLUMNS,
  aadOf: (row: CredentialRow) => aadOf(identityOf(row)),
};

/** Start-up check (system-wide): one credential per key id in use must decrypt, like verifyMasterKeys. */
export const verifyGitCredentialKeys = (db: Knex, keys: MasterKeys): Promise<{ checkedKeyIds: string[] }> =>
  verifyTableKeys(db, keys, GIT_CREDENTIALS_TABLE, "git credentials");

/** Master-key rotation of git credentials (scripts/rotate-master-key.ts), in batches like rotateSecrets. */
export async function rotateGitCredentials(
  db: Knex,
  keys: MasterKeys,
  batchSize = 100,
): Promise<{ reencrypted: number }> {
  const reencrypted = await reencryptTable<CredentialRow>(db, keys, GIT_CREDENTIALS_TABLE, batchSize);
  return { reencrypted };
}

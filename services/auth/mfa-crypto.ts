/**
 * TOTP secrets at rest: AES-256-GCM under CONTROLPLANE_MASTER_KEY through the one at-rest pair
 * (encryptAtRest/decryptAtRest), with additional authenticated data binding a ciphertext to its org and user, so a
 * row copied onto another user fails to decrypt.
 */
import type { Knex } from "knex";
import type { MasterKeys } from "../_shared/master-keys.js";
import {
  decryptAtRest,
  encryptAtRest,
  reencryptTable,
  verifyTableKeys,
  type EncryptedSecret,
} from "../stacks/index.js";

export interface MfaIdentity {
  orgId: string;
  userId: string;
}

const aadOf = (identity: MfaIdentity): Buffer =>
  Buffer.from(JSON.stringify(["stackyard.mfa-totp.v1", identity.orgId, identity.userId]));

export interface MfaCipherColumns {
  ciphertext: Buffer;
  nonce: Buffer;
  auth_tag: Buffer;
  key_id: string;
}

export function encryptTotpSecret(keys: MasterKeys, secret: Buffer, identity: MfaIdentity): MfaCipherColumns {
  const sealed = encryptAtRest(keys, secret, aadOf(identity));
  return { ciphertext: sealed.ciphertext, nonce: sealed.nonce, auth_tag: sealed.authTag, key_id: sealed.keyId };
}

export function decryptTotpSecret(keys: MasterKeys, row: MfaCipherColumns, identity: MfaIdentity): Buffer {
  const record: EncryptedSecret = {
    ciphertext: row.ciphertext,
    nonce: row.nonce,
    authTag: row.auth_tag,
    keyId: row.key_id,
  };
  return decryptAtRest(keys, record, aadOf(identity));
}

interface MfaCipherRow extends MfaCipherColumns {
  id: string;
  user_id: string;
  org_id: string;
}
const ROW_COLUMNS = ["id", "user_id", "org_id", "ciphertext", "nonce", "auth_tag", "key_id"] as const;

const MFA_TABLE = {
  table: "user_mfa",
  columns: ROW_COLUMNS,
  aadOf: (row: MfaCipherRow) => aadOf({ orgId: row.org_id, userId: row.user_id }),
};

/** Start-up and rotation check (system-wide): one secret per key id in use must decrypt. */
export const verifyMfaKeys = (db: Knex, keys: MasterKeys): Promise<{ checkedKeyIds: string[] }> =>
  verifyTableKeys(db, keys, MFA_TABLE, "MFA secrets");

/** Master-key rotation of TOTP secrets (scripts/rotate-master-key.ts), in batches like the other tables. */
export async function rotateMfaSecrets(db: Knex, keys: MasterKeys, batchSize = 100): Promise<{ reencrypted: number }> {
  const reencrypted = await reencryptTable<MfaCipherRow>(db, keys, MFA_TABLE, batchSize);
  return { reencrypted };
}

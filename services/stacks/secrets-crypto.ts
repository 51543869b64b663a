/**
 * Secret values at rest: AES-256-GCM under a master key from CONTROLPLANE_MASTER_KEY. Several keys may be
 * configured (`k2:<base64>,k1:<base64>`): the first encrypts, all decrypt, and `rotateSecrets` moves every row
 * to the first. The additional authenticated data binds a ciphertext to its org, environment, name and version,
 * so a row copied over another (or an old version replayed) fails to decrypt.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { Knex } from "knex";
import { MasterKeyConfigError, type MasterKeys } from "../_shared/master-keys.js";

// Master-key parsing is configuration (services/_shared/master-keys.ts); re-exported for the secrets code.
export { MASTER_KEY_BYTES, MasterKeyConfigError, parseMasterKeys, type MasterKeys } from "../_shared/master-keys.js";

export const GCM_NONCE_BYTES = 12;
export const GCM_TAG_BYTES = 16;
export const DEFAULT_ROTATION_BATCH_SIZE = 100;

/** A stored value that does not decrypt: wrong key, tampered row, or a row moved to another identity. */
export class SecretDecryptionError extends Error {
  constructor(
    readonly keyId: string,
    options?: { cause?: unknown },
  ) {
    super(`a secret encrypted under master key "${keyId}" could not be decrypted`, options);
    this.name = "SecretDecryptionError";
  }
}

export class UnknownMasterKeyError extends Error {
  constructor(readonly keyId: string) {
    super(`a secret is encrypted under master key "${keyId}", which is not configured`);
    this.name = "UnknownMasterKeyError";
  }
}

/** What a ciphertext is bound to. */
export interface SecretIdentity {
  orgId: string;
  environmentId: string;
  name: string;
  version: number;
}

export interface EncryptedSecret {
  ciphertext: Buffer;
  nonce: Buffer;
  authTag: Buffer;
  keyId: string;
}

function aadOf(identity: SecretIdentity): Buffer {
  // JSON of a fixed-order array: unambiguous whatever characters the parts contain.
  return Buffer.from(
    JSON.stringify(["stackyard.secret.v1", identity.orgId, identity.environmentId, identity.name, identity.version]),
  );
}

/**
 * AES-256-GCM at rest under the active master key, bound to `aad` (what the ciphertext belongs to). Every value
 * encrypted at rest goes through this pair: environment secrets here, registry and git credentials beside them.
 */
export function encryptAtRest(keys: MasterKeys, plaintext: Buffer | string, aad: Buffer): EncryptedSecret {
  const key = keys.keys.get(keys.activeKeyId);
  if (!key) throw new UnknownMasterKeyError(keys.activeKeyId);
  // A fresh random nonce per write: with ~2^32 writes per key the collision risk stays negligible.
  const nonce = randomBytes(GCM_NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: GCM_TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, nonce, authTag: cipher.getAuthTag(), keyId: keys.activeKeyId };
}

export function decryptAtRest(keys: MasterKeys, record: EncryptedSecret, aad: Buffer): Buffer {
  const key = keys.keys.get(record.keyId);
  if (!key) throw new UnknownMasterKeyError(record.keyId);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, record.nonce, { authTagLength: GCM_TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(record.authTag);
    return Buffer.concat([decipher.update(record.ciphertext), decipher.final()]);
  } catch (err) {
    throw new SecretDecryptionError(record.keyId, { cause: err });
  }
}

export const encryptSecret = (
  keys: MasterKeys,
  plaintext: Buffer | string,
  identity: SecretIdentity,
): EncryptedSecret => encryptAtRest(keys, plaintext, aadOf(identity));

export const decryptSecret = (keys: MasterKeys, record: EncryptedSecret, identity: SecretIdentity): Buffer =>
  decryptAtRest(keys, record, aadOf(identity));

/** A row of environment_secrets with what decryption needs. */
export interface SecretRow {
  id: string;
  org_id: string;
  environment_id: string;
  name: string;
  version: number;
  ciphertext: Buffer;
  nonce: Buffer;
  auth_tag: Buffer;
  key_id: string;
}

/** The columns a stored secret is decrypted from. */
export const SECRET_ROW_COLUMNS = [
  "id",
  "org_id",
  "environment_id",
  "name",
  "version",
  "ciphertext",
  "nonce",
  "auth_tag",
  "key_id",
] as const;

export function identityOf(row: SecretRow): SecretIdentity {
  return { orgId: row.org_id, environmentId: row.environment_id, name: row.name, version: row.version };
}

export function recordOf(row: SecretRow): EncryptedSecret {
  return { ciphertext: row.ciphertext, nonce: row.nonce, authTag: row.auth_tag, keyId: row.key_id };
}

/**
 * Run at start: for each key id in use, one row must decrypt with the configured key. A wrong or missing master
 * key then stops the process before any deployment needs a secret. This is a system-wide check across orgs.
 */
/**
 * A registry credential's password is encrypted the same way; the envelope's `environmentId` slot holds the
 * credential id, so it never decrypts as an environment's secret, another credential or an older version.
 */
export function registryCredentialIdentity(orgId: string, credentialId: string, version: number): SecretIdentity {
  return { orgId, environmentId: credentialId, name: "registry-credential", version };
}

interface RegistryCredentialCipherRow {
  id: string;
  org_id: string;
  version: number;
  ciphertext: Buffer;
  nonce: Buffer;
  auth_tag: Buffer;
  key_id: string;
}
const REGISTRY_CIPHER_COLUMNS = ["id", "org_id", "version", "ciphertext", "nonce", "auth_tag", "key_id"] as const;
const registryRecordOf = (r: RegistryCredentialCipherRow): EncryptedSecret => ({
  ciphertext: r.ciphertext,
  nonce: r.nonce,
  authTag: r.auth_tag,
  keyId: r.key_id,
});

export async function verifyMasterKeys(db: Knex, keys: MasterKeys): Promise<{ checkedKeyIds: string[] }> {
  const rows = await db
    .select<SecretRow[]>(...SECRET_ROW_COLUMNS)
    .from("environment_secrets")
    .distinctOn("key_id")
    .orderBy([{ column: "key_id" }, { column: "id" }]);
  const problems: string[] = [];
  for (const row of rows) {
    try {
      decryptSecret(keys, recordOf(row), identityOf(row));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  const credentials = await db
    .select<RegistryCredentialCipherRow[]>(...REGISTRY_CIPHER_COLUMNS)
    .from("registry_credentials")
    .distinctOn("key_id")
    .orderBy([{ column: "key_id" }, { column: "id" }]);
  for (const row of credentials) {
    try {
      decryptSecret(keys, registryRecordOf(row), registryCredentialIdentity(row.org_id, row.id, row.version));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length > 0) throw new MasterKeyConfigError(problems);
  return { checkedKeyIds: [...new Set([...rows, ...credentials].map((r) => r.key_id))] };
}

/** A table holding values encrypted at rest, as `reencryptTable` reads it. */
export interface AtRestTable<Row extends { id: string; org_id: string }> {
  table: string;
  /** The columns `aadOf` needs, plus id, org_id and the ciphertext columns. */
  columns: readonly string[];
  aadOf(row: Row): Buffer;
}

/**
 * Start-up and rotation check of one table (system-wide): one value per key id in use must decrypt with the
 * configured keys. Problems are prefixed with `label`; returns the key ids it checked.
 */
export async function verifyTableKeys<Row extends { id: string; org_id: string } & CipherColumns>(
  db: Knex,
  keys: MasterKeys,
  spec: AtRestTable<Row>,
  label: string,
): Promise<{ checkedKeyIds: string[] }> {
  const rows = (await db
    .select(...spec.columns)
    .from(spec.table)
    .distinctOn("key_id")
    .orderBy([{ column: "key_id" }, { column: "id" }])) as Row[];
  const problems: string[] = [];
  for (const row of rows) {
    const record = { ciphertext: row.ciphertext, nonce: row.nonce, authTag: row.auth_tag, keyId: row.key_id };
    try {
      decryptAtRest(keys, record, spec.aadOf(row)).fill(0);
    } catch (err) {
      problems.push(`${label}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new MasterKeyConfigError(problems);
  return { checkedKeyIds: rows.map((r) => r.key_id) };
}

/**
 * Re-encrypts every value of `spec.table` not under the active key, one transaction per batch so a large table
 * neither holds locks for long nor loses finished work if interrupted; running it again continues where it
 * stopped. Nothing but the ciphertext columns changes: the value did not.
 */
export async function reencryptTable<Row extends { id: string; org_id: string } & CipherColumns>(
  db: Knex,
  keys: MasterKeys,
  spec: AtRestTable<Row>,
  batchSize = DEFAULT_ROTATION_BATCH_SIZE,
): Promise<number> {
  let reencrypted = 0;
  for (;;) {
    const done = await db.transaction(async (trx) => {
      const rows = (await trx
        .select(...spec.columns)
        .from(spec.table)
        .whereNot("key_id", keys.activeKeyId)
        .orderBy("id")
        .limit(batchSize)
        .forUpdate()) as Row[];
      for (const row of rows) {
        const aad = spec.aadOf(row);
        const record = { ciphertext: row.ciphertext, nonce: row.nonce, authTag: row.auth_tag, keyId: row.key_id };
        const plaintext = decryptAtRest(keys, record, aad);
        const next = encryptAtRest(keys, plaintext, aad);
        plaintext.fill(0);
        await trx(spec.table).where({ id: row.id, org_id: row.org_id }).update({
          ciphertext: next.ciphertext,
          nonce: next.nonce,
          auth_tag: next.authTag,
          key_id: next.keyId,
        });
      }
      return rows.length;
    });
    reencrypted += done;
    if (done < batchSize) return reencrypted;
  }
}

interface CipherColumns {
  ciphertext: Buffer;
  nonce: Buffer;
  auth_tag: Buffer;
  key_id: string;
}

/**
 * Moves every environment secret and registry-credential password to the active key (reencryptTable). Version,
 * updated_at and updated_by stay: the value did not change.
 */
export async function rotateSecrets(
  db: Knex,
  keys: MasterKeys,
  options: { batchSize?: number } = {},
): Promise<{ reencrypted: number }> {
  const secrets = await reencryptTable<SecretRow>(
    db,
    keys,
    { table: "environment_secrets", columns: SECRET_ROW_COLUMNS, aadOf: (row) => aadOf(identityOf(row)) },
    options.batchSize,
  );
  const registry = await reencryptTable<RegistryCredentialCipherRow>(
    db,
    keys,
    {
      table: "registry_credentials",
      columns: REGISTRY_CIPHER_COLUMNS,
      aadOf: (row) => aadOf(registryCredentialIdentity(row.org_id, row.id, row.version)),
    },
    options.batchSize,
  );
  return { reencrypted: secrets + registry };
}

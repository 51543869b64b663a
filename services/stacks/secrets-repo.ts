/**
 * Environment secrets: values go in, metadata comes out. Only `loadSecretValues` (for the deployment worker)
 * decrypts, and only in memory. Every query goes through the caller's TenantScope.
 */
import { NotFoundError, UnprocessableError } from "../_shared/errors.js";
import { TenantScope } from "../_shared/tenant.js";
import { compareCodePoints } from "./json.js";
import {
  decryptSecret,
  encryptSecret,
  identityOf,
  recordOf,
  SECRET_ROW_COLUMNS,
  type MasterKeys,
  type SecretRow,
} from "./secrets-crypto.js";

/** The environment_secrets.name check, and what Swarm accepts inside a secret name. */
export const SECRET_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SERVICE_NAME_PATTERN = /^[a-zA-Z0-9._-]+$/;
/** Swarm refuses secret data of 500 KiB or more, and empty data. */
export const MAX_SECRET_BYTES = 500 * 1024 - 1;
const MAX_SECRET_SERVICES = 100;

export interface SecretMetadata {
  name: string;
  /** The services it is mounted into; empty means every service. */
  services: string[];
  version: number;
  updatedAt: Date;
  updatedBy: string | null;
}

export interface PutSecretInput {
  environmentId: string;
  name: string;
  value: string | Buffer;
  services: string[];
  /** The user (or token owner) id recorded as updated_by. */
  actor: string | null;
}

export interface PutSecretResult extends SecretMetadata {
  /** false when an existing secret was rotated to a new version. */
  created: boolean;
}

export interface SecretValue {
  name: string;
  version: number;
  services: string[];
  value: Buffer;
}

interface MetadataRow {
  name: string;
  services: string[];
  version: number;
  updated_at: Date;
  updated_by: string | null;
}

const METADATA_COLUMNS = ["name", "services", "version", "updated_at", "updated_by"] as const;

function toMetadata(row: MetadataRow): SecretMetadata {
  return {
    name: row.name,
    services: row.services,
    version: row.version,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}

/** Creates the secret (version 1) or rotates it (version + 1); each write has a fresh nonce. */
export async function putSecret(scope: TenantScope, input: PutSecretInput, keys: MasterKeys): Promise<PutSecretResult> {
  const value = typeof input.value === "string" ? Buffer.from(input.value, "utf8") : input.value;
  const services = checkSecretInput(input.name, value, input.services);
  return scope.db.transaction(async (trx) => {
    const tx = new TenantScope(trx, scope.orgId);
    // Serialises writers of one environment's secrets, so two first writes cannot both insert version 1.
    // NO KEY UPDATE leaves deployments (which reference the environment) free to be inserted meanwhile.
    const environment = await tx
      .from("environments")
      .select("id")
      .where({ id: input.environmentId })
      .forNoKeyUpdate()
      .first<{ id: string } | undefined>();
    if (!environment) throw new NotFoundError("ENVIRONMENT_NOT_FOUND", "environment not found");
    const existing = await tx
      .from("environment_secrets")
      .select<{ id: string; version: number }[]>("id", "version")
      .where({ environment_id: input.environmentId, name: input.name })
      .first();
    const version = existing ? existing.version + 1 : 1;
    const encrypted = encryptSecret(keys, value, {
      orgId: scope.orgId,
      environmentId: input.environmentId,
      name: input.name,
      version,
    });
    const columns = {
      version,
      ciphertext: encrypted.ciphertext,
      nonce: encrypted.nonce,
      auth_tag: encrypted.authTag,
      key_id: encrypted.keyId,
      services,
      updated_at: trx.fn.now(),
      updated_by: input.actor,
    };
    const [row] = existing
      ? await tx
          .from("environment_secrets")
          .where({ id: existing.id })
          .update(columns)
          .returning<MetadataRow[]>(METADATA_COLUMNS)
      : await tx
          .insert("environment_secrets", { ...columns, environment_id: input.environmentId, name: input.name })
          .returning<MetadataRow[]>(METADATA_COLUMNS);
    if (!row) throw new Error("environment_secrets write returned no row");
    return { ...toMetadata(row), created: !existing };
  });
}

/** Metadata of an environment's secrets, by name. Never a value. */
export async function listSecrets(scope: TenantScope, environmentId: string): Promise<SecretMetadata[]> {
  const rows = await scope
    .from("environment_secrets")
    .select<MetadataRow[]>(...METADATA_COLUMNS)
    .where({ environment_id: environmentId })
    .orderBy("name");
  return rows.map(toMetadata);
}

/** Removes the secret; the deleted metadata is returned for the audit record. */
export async function deleteSecret(scope: TenantScope, environmentId: string, name: string): Promise<SecretMetadata> {
  const [row] = await scope
    .from("environment_secrets")
    .where({ environment_id: environmentId, name })
    .delete()
    .returning<MetadataRow[]>(METADATA_COLUMNS);
  if (!row) throw new NotFoundError("SECRET_NOT_FOUND", `secret "${name}" not found`);
  return toMetadata(row);
}

/**
 * Decrypted values for a deployment, in memory only. Callers should `value.fill(0)` once sent. A value that
 * does not decrypt throws (SecretDecryptionError): deploying without it would be worse.
 */
export async function loadSecretValues(
  scope: TenantScope,
  environmentId: string,
  keys: MasterKeys,
): Promise<SecretValue[]> {
  const rows = await scope
    .from("environment_secrets")
    .select<Array<SecretRow & { services: string[] }>>(...SECRET_ROW_COLUMNS, "services")
    .where({ environment_id: environmentId })
    .orderBy("name");
  return rows.map((row) => ({
    name: row.name,
    version: row.version,
    services: row.services,
    value: decryptSecret(keys, recordOf(row), identityOf(row)),
  }));
}

function checkSecretInput(name: string, value: Buffer, services: string[]): string[] {
  if (!SECRET_NAME_PATTERN.test(name)) {
    throw new UnprocessableError(
      "SECRET_NAME_INVALID",
      "a secret name is 1-64 of A-Z a-z 0-9 _ . - and starts with a letter or digit",
      { name },
    );
  }
  if (value.length === 0 || value.length > MAX_SECRET_BYTES) {
    throw new UnprocessableError(
      "SECRET_VALUE_SIZE",
      `a secret value must be 1 to ${MAX_SECRET_BYTES} bytes (Swarm's limit)`,
      { maxBytes: MAX_SECRET_BYTES },
    );
  }
  const unique = [...new Set(services)].sort(compareCodePoints);
  const invalid = unique.filter((s) => !SERVICE_NAME_PATTERN.test(s));
  if (invalid.length > 0 || unique.length > MAX_SECRET_SERVICES) {
    throw new UnprocessableError(
      "SECRET_SERVICES_INVALID",
      `services must be at most ${MAX_SECRET_SERVICES} compose service names`,
      { invalid },
    );
  }
  return unique;
}

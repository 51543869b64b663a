/**
 * git_credentials rows. Metadata comes out of every read; the secret (deploy key seed or HTTPS token) is decrypted
 * only by `loadGitCredentialSecret`, in memory, for one git run. Every query goes through the caller's TenantScope.
 */
import { randomUUID } from "node:crypto";
import { ConflictError, NotFoundError, UnprocessableError } from "../../_shared/errors.js";
import type { MasterKeys } from "../../_shared/master-keys.js";
import type { TenantScope } from "../../_shared/tenant.js";
import { decryptCredential, encryptCredential } from "./credential-crypto.js";
import { parseKnownHosts, type HostKey } from "./known-hosts.js";

export type GitCredentialKind = "ssh" | "https";
export const GIT_CREDENTIAL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface GitCredential {
  id: string;
  name: string;
  kind: GitCredentialKind;
  /** ssh: the OpenSSH public key line. */
  publicKey: string | null;
  /** ssh: SHA256 fingerprint of the deploy key. */
  keyFingerprint: string | null;
  /** https: the user name sent with the token. */
  username: string | null;
  hostKeys: HostKey[];
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The decrypted material of one credential, for one git run; `secret.fill(0)` afterwards. */
export interface GitCredentialSecret extends GitCredential {
  /** ssh: the 32-byte ed25519 seed; https: the token's UTF-8 bytes. */
  secret: Buffer;
  knownHosts: string;
}

interface Row {
  id: string;
  org_id: string;
  name: string;
  kind: GitCredentialKind;
  public_key: string | null;
  key_fingerprint: string | null;
  username: string | null;
  known_hosts: string;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = [
  "id",
  "org_id",
  "name",
  "kind",
  "public_key",
  "key_fingerprint",
  "username",
  "known_hosts",
  "created_by",
  "created_at",
  "updated_at",
] as const;

function toCredential(row: Row): GitCredential {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    publicKey: row.public_key,
    keyFingerprint: row.key_fingerprint,
    username: row.username,
    hostKeys: parseKnownHosts(row.known_hosts),
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface InsertGitCredential {
  name: string;
  kind: GitCredentialKind;
  publicKey: string | null;
  keyFingerprint: string | null;
  username: string | null;
  secret: Buffer;
  createdBy: string | null;
}

export async function insertGitCredential(
  scope: TenantScope,
  input: InsertGitCredential,
  keys: MasterKeys,
  id: string = randomUUID(),
): Promise<GitCredential> {
  if (!GIT_CREDENTIAL_NAME_PATTERN.test(input.name)) {
    throw new UnprocessableError(
      "GIT_CREDENTIAL_NAME_INVALID",
      "a git credential name is 1-64 of A-Z a-z 0-9 _ . - and starts with a letter or digit",
      { name: input.name },
    );
  }
  const encrypted = encryptCredential(keys, input.secret, { orgId: scope.orgId, credentialId: id });
  try {
    const [row] = await scope
      .insert("git_credentials", {
        id,
        name: input.name,
        kind: input.kind,
        public_key: input.publicKey,
        key_fingerprint: input.keyFingerprint,
        username: input.username,
        ciphertext: encrypted.ciphertext,
        nonce: encrypted.nonce,
        auth_tag: encrypted.authTag,
        key_id: encrypted.keyId,
        created_by: input.createdBy,
      })
      .returning<Row[]>(COLUMNS);
    if (!row) throw new Error("git_credentials insert returned no row");
    return toCredential(row);
  } catch (err) {
    if ((err as { code?: unknown }).code === "23505") {
      throw new ConflictError("GIT_CREDENTIAL_EXISTS", `a git credential named "${input.name}" already exists`, {
        name: input.name,
      });
    }
    throw err;
  }
}

export async function listGitCredentials(scope: TenantScope): Promise<GitCredential[]> {
  const rows = await scope
    .from("git_credentials")
    .select<Row[]>(...COLUMNS)
    .orderBy("name");
  return rows.map(toCredential);
}

function notFound(): never {
  throw new NotFoundError("GIT_CREDENTIAL_NOT_FOUND", "git credential not found");
}

export async function getGitCredential(scope: TenantScope, id: string): Promise<GitCredential> {
  const row = await scope
    .from("git_credentials")
    .select<Row[]>(...COLUMNS)
    .where({ id })
    .first<Row | undefined>();
  return row ? toCredential(row) : notFound();
}

export async function deleteGitCredential(scope: TenantScope, id: string): Promise<GitCredential> {
  const [row] = await scope.from("git_credentials").where({ id }).delete().returning<Row[]>(COLUMNS);
  return row ? toCredential(row) : notFound();
}

/** Replaces the credential's known_hosts (the caller merged and formatted it). */
export async function setKnownHosts(scope: TenantScope, id: string, knownHosts: string): Promise<GitCredential> {
  const [row] = await scope
    .from("git_credentials")
    .where({ id })
    .update({ known_hosts: knownHosts, updated_at: scope.db.fn.now() })
    .returning<Row[]>(COLUMNS);
  return row ? toCredential(row) : notFound();
}

export async function loadGitCredentialSecret(
  scope: TenantScope,
  id: string,
  keys: MasterKeys,
): Promise<GitCredentialSecret> {
  const row = await scope
    .from("git_credentials")
    .select<Array<Row & { ciphertext: Buffer; nonce: Buffer; auth_tag: Buffer; key_id: string }>>(
      ...COLUMNS,
      "ciphertext",
      "nonce",
      "auth_tag",
      "key_id",
    )
    .where({ id })
    .first();
  if (!row) return notFound();
  const secret = decryptCredential(
    keys,
    { ciphertext: row.ciphertext, nonce: row.nonce, authTag: row.auth_tag, keyId: row.key_id },
    { orgId: row.org_id, credentialId: row.id },
  );
  return { ...toCredential(row), secret, knownHosts: row.known_hosts };
}

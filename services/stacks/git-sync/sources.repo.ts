/** Rows of git_sync_sources and their API view; the webhook secret is encrypted like git credentials. */
import type { MasterKeys } from "../../_shared/master-keys.js";
import type { Knex } from "knex";
import {
  decryptAtRest,
  encryptAtRest,
  reencryptTable,
  verifyTableKeys,
  type EncryptedSecret,
} from "../secrets-crypto.js";

export interface SyncSourceRow {
  id: string;
  org_id: string;
  stack_id: string;
  repo_url: string;
  ref: string;
  path: string;
  credential_id: string | null;
  poll_interval_seconds: number;
  ciphertext: Buffer;
  nonce: Buffer;
  auth_tag: Buffer;
  key_id: string;
  last_commit: string | null;
  last_tree_id: string | null;
  last_release_id: string | null;
  last_checked_at: Date | null;
  last_error_code: string | null;
  last_error_message: string | null;
  next_poll_at: Date;
  created_by: string | null;
  created_at: Date;
}

const aadOf = (orgId: string, sourceId: string): Buffer =>
  Buffer.from(JSON.stringify(["stackyard.git-sync-webhook.v1", orgId, sourceId]));

export function encryptWebhookSecret(keys: MasterKeys, secret: string, orgId: string, sourceId: string) {
  const e = encryptAtRest(keys, secret, aadOf(orgId, sourceId));
  return { ciphertext: e.ciphertext, nonce: e.nonce, auth_tag: e.authTag, key_id: e.keyId };
}

export function decryptWebhookSecret(keys: MasterKeys, row: SyncSourceRow): string {
  const record: EncryptedSecret = {
    ciphertext: row.ciphertext,
    nonce: row.nonce,
    authTag: row.auth_tag,
    keyId: row.key_id,
  };
  return decryptAtRest(keys, record, aadOf(row.org_id, row.id)).toString("utf8");
}

const WEBHOOK_SECRETS_TABLE = {
  table: "git_sync_sources",
  columns: ["id", "org_id", "ciphertext", "nonce", "auth_tag", "key_id"] as const,
  aadOf: (row: { id: string; org_id: string }) => aadOf(row.org_id, row.id),
};

/** Start-up check: one webhook secret per key id in use must decrypt (like verifyGitCredentialKeys). */
export const verifyWebhookSecretKeys = (db: Knex, keys: MasterKeys): Promise<{ checkedKeyIds: string[] }> =>
  verifyTableKeys(db, keys, WEBHOOK_SECRETS_TABLE, "git sync webhook secrets");

/** Master-key rotation of webhook secrets (scripts/rotate-master-key.ts). */
export async function rotateWebhookSecrets(db: Knex, keys: MasterKeys): Promise<{ reencrypted: number }> {
  return { reencrypted: await reencryptTable(db, keys, WEBHOOK_SECRETS_TABLE) };
}

export const webhookPath = (sourceId: string): string => `/v1/webhooks/git/${sourceId}`;

export const syncSourceView = (r: SyncSourceRow, publicUrl: string) => ({
  id: r.id,
  stackId: r.stack_id,
  repoUrl: r.repo_url,
  ref: r.ref,
  path: r.path,
  credentialId: r.credential_id,
  pollIntervalSeconds: r.poll_interval_seconds,
  webhookUrl: `${publicUrl.replace(/\/+$/, "")}${webhookPath(r.id)}`,
  lastCommit: r.last_commit,
  lastReleaseId: r.last_release_id,
  lastCheckedAt: r.last_checked_at?.toISOString() ?? null,
  lastError: r.last_error_code ? { code: r.last_error_code, message: r.last_error_message ?? "" } : null,
  createdAt: r.created_at.toISOString(),
});
export type SyncSourceView = ReturnType<typeof syncSourceView>;

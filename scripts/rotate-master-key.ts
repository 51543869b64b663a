/**
 * Master-key rotation: re-encrypts every environment secret, git credential and TOTP secret under the first key of
 * CONTROLPLANE_MASTER_KEY.
 *
 *   1. prepend the new key: CONTROLPLANE_MASTER_KEY=k2:<new base64>,k1:<old base64>, restart the control plane
 *   2. DATABASE_URL=… CONTROLPLANE_MASTER_KEY=… node --import tsx scripts/rotate-master-key.ts
 *   3. once it reports 0 rows left under old keys, drop k1 from CONTROLPLANE_MASTER_KEY and restart
 *
 * It first checks that every key id in use decrypts (so a typo stops it before any write), and can be run again
 * after an interruption: it continues with the rows still under an old key.
 */
import { ConfigError } from "../services/_shared/config.js";
import { createDb } from "../services/_shared/db.js";
import { parseMasterKeys, rotateSecrets, verifyMasterKeys } from "../services/stacks/secrets-crypto.js";
import { rotateGitCredentials, verifyGitCredentialKeys } from "../services/stacks/git-credentials/index.js";
import { rotateMfaSecrets, verifyMfaKeys } from "../services/auth/mfa-crypto.js";
import { rotateNotificationSecrets, verifyNotificationKeys } from "../services/notifications/index.js";
import { rotateWebhookSecrets, verifyWebhookSecretKeys } from "../services/stacks/git-sync/sources.repo.js";
import { rotateForgeTokens, verifyForgeTokenKeys } from "../services/deployments/previews/settings.js";

const url = process.env.DATABASE_URL;
const spec = process.env.CONTROLPLANE_MASTER_KEY;
if (!url || !spec) {
  throw new ConfigError([
    ...(url ? [] : ["DATABASE_URL is missing"]),
    ...(spec ? [] : ["CONTROLPLANE_MASTER_KEY is missing (new key first, then the old ones)"]),
  ]);
}
const keys = parseMasterKeys(spec);
const db = createDb(url, 2);
try {
  const { checkedKeyIds } = await verifyMasterKeys(db, keys);
  const credentialKeyIds = (await verifyGitCredentialKeys(db, keys)).checkedKeyIds;
  checkedKeyIds.push(...credentialKeyIds.filter((id) => !checkedKeyIds.includes(id)));
  const mfaKeyIds = (await verifyMfaKeys(db, keys)).checkedKeyIds;
  checkedKeyIds.push(...mfaKeyIds.filter((id) => !checkedKeyIds.includes(id)));
  const notificationKeyIds = (await verifyNotificationKeys(db, keys)).checkedKeyIds;
  checkedKeyIds.push(...notificationKeyIds.filter((id) => !checkedKeyIds.includes(id)));
  const webhookKeyIds = (await verifyWebhookSecretKeys(db, keys)).checkedKeyIds;
  checkedKeyIds.push(...webhookKeyIds.filter((id) => !checkedKeyIds.includes(id)));
  const forgeKeyIds = (await verifyForgeTokenKeys(db, keys)).checkedKeyIds;
  checkedKeyIds.push(...forgeKeyIds.filter((id) => !checkedKeyIds.includes(id)));
  console.error(`[stackyard] key ids in use: ${checkedKeyIds.join(", ") || "none"}; all decrypt`);
  const { reencrypted } = await rotateSecrets(db, keys);
  const credentials = await rotateGitCredentials(db, keys);
  const mfa = await rotateMfaSecrets(db, keys);
  const notifications = await rotateNotificationSecrets(db, keys);
  console.error(`[stackyard] re-encrypted ${notifications.reencrypted} notification signing secret(s)`);
  const webhooks = await rotateWebhookSecrets(db, keys);
  console.error(`[stackyard] re-encrypted ${webhooks.reencrypted} git sync webhook secret(s)`);
  const forgeTokens = await rotateForgeTokens(db, keys);
  console.error(`[stackyard] re-encrypted ${forgeTokens.reencrypted} preview forge token(s)`);
  const mfaLeft = await db("user_mfa").whereNot("key_id", keys.activeKeyId).count<{ count: string }[]>({ count: "*" });
  console.error(
    `[stackyard] re-encrypted ${mfa.reencrypted} TOTP secret(s); ${mfaLeft[0]?.count ?? "0"} left under old keys`,
  );
  const credentialsLeft = await db("git_credentials")
    .whereNot("key_id", keys.activeKeyId)
    .count<{ count: string }[]>({ count: "*" });
  console.error(
    `[stackyard] re-encrypted ${credentials.reencrypted} git credential(s); ${credentialsLeft[0]?.count ?? "0"} left under old keys`,
  );
  const left = await db("environment_secrets")
    .whereNot("key_id", keys.activeKeyId)
    .count<{ count: string }[]>({ count: "*" });
  console.error(
    `[stackyard] re-encrypted ${reencrypted} secret(s) under "${keys.activeKeyId}"; ${left[0]?.count ?? "0"} left under old keys`,
  );
} finally {
  await db.destroy();
}

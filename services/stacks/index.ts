/** stacks: what other domains may use (deployments renders and deploys what stacks holds). */
export { renderDesiredState, type RenderIngress } from "./render.js";
export { checkComposePolicy, COMPOSE_POLICY_VIOLATION, policyMessage, type PolicyViolation } from "./compose-policy.js";
export { composePolicyForCluster } from "./compose-policy.logic.js";
export { loadSecretValues, putSecret } from "./secrets-repo.js";
export { findEnvironment, findStack } from "./stacks.logic.js";
export { ownershipLabels } from "./swarm-stack.js";
export { manifestHealthGrace, manifestHooks, type Manifest } from "./manifest.js";
export { environmentView } from "./views.js";
export { createStacksService } from "./stacks.service.js";
export { loadRegistryLogins, normalizeRegistryHost, type RegistryLogin } from "./registry-credentials.logic.js";
// The one at-rest AES-GCM pair, also for auth's TOTP secrets (services/auth/mfa-crypto.ts).
export {
  decryptAtRest,
  encryptAtRest,
  reencryptTable,
  verifyTableKeys,
  type EncryptedSecret,
} from "./secrets-crypto.js";
export { WEBHOOK_HEADERS, type WebhookMeta } from "./git-sync/public.js";
export { OrgFetchLimiter } from "./git-credentials/index.js";
export type { PullRequestEvent, PullRequestAction } from "./git-sync/pull-request.js";
export { releaseSettingsFromConfig, type ReleaseSettings } from "./releases.logic.js";
export { defaultSwarmStack } from "./swarm-stack.js";

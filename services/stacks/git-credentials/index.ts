/** Git credentials (deploy keys, HTTPS tokens, trusted host keys) and the guarded git fetch of releases. */
export { gitCredentialActions } from "./git-credentials.service.js";
export { fetchGitReleaseSource, prepareGitConnection } from "./git-fetch.js";
export { OrgFetchLimiter } from "./fetch-limiter.js";
export type { GitCredentialSettings } from "./git-credentials.logic.js";
export { rotateGitCredentials, verifyGitCredentialKeys } from "./credential-crypto.js";

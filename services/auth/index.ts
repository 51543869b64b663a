/** auth: what other domains (and the gateway) may use. */
export { createAuthenticator } from "./authenticate.js";
export { bootstrapTokenMatches } from "./orgs.logic.js";
export { createAuthService } from "./auth.service.js";

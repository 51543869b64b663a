/** clusters: what other domains may use. */
export { loadNatsIdentity } from "./nats-admin.js";
export { createClustersService } from "./clusters.service.js";
export { agentSealPublicKey } from "./clusters.logic.js";
export { agentPresence, isSilent, silenceWords, type AgentPresence } from "./presence.js";
export { effectiveStatus as effectiveClusterStatus } from "./views.js";
export type { ClusterStatus } from "./views.js";

/** deployments: the REST service and the deploy worker. */
export { createDeploymentsService } from "./deployments.service.js";
export { createDeployWorkerService } from "./worker.service.js";
export { TERMINAL_STATUSES } from "./lifecycle.js";
export { createLeafSourceKeeper, ensureLeafEventsSource } from "./leaf-sources.js";
export { LOG_FOLLOW_RENEW_MS } from "./log-follow.js";

/** deployments: the REST service and the deploy worker. */
export { createDeploymentsService } from "./deployments.service.js";
export { createDeployWorkerService } from "./worker.service.js";
export { TERMINAL_STATUSES } from "./lifecycle.js";
export { createLeafSourceKeeper, ensureLeafEventsSource } from "./leaf-sources.js";
export { LOG_FOLLOW_RENEW_MS } from "./log-follow.js";
export {
  EXEC_PING_MS,
  EXEC_TRANSCRIPT_INPUT_BYTES,
  EXEC_TRANSCRIPT_OUTPUT_BYTES,
  type ExecEnd,
  type ExecSessionStep,
  type ExecStarted,
  type ExecTarget,
  type ExecTranscript,
} from "./exec-sessions.js";
/** What the environment last deployed successfully per service, for the alert rules' replica and drift checks. */
export { composeName, desiredRelease } from "./runtime.logic.js";
export { imageMatches } from "./drift.js";

/** audit: what other domains may use. The audit row is written by each change in its own transaction. */
export { actorOf, recordAudit, redact, type AuditEntry } from "./audit.repo.js";
export { createAuditService } from "./audit.service.js";

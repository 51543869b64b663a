/** alerts: what other parts may use (the service; the certificate source type, for tests and other sources). */
export { createAlertsService } from "./alerts.service.js";
export type { CertificateFact, CertificateSource } from "./sources.js";

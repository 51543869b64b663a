/** alerts: what other parts may use (the service; the certificate seam for the certificates feature). */
export { createAlertsService } from "./alerts.service.js";
export type { CertificateFact, CertificateSource } from "./sources.js";

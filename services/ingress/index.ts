/** ingress: what other parts may use (the service, and the routes the renderers of environments read). */
export { createIngressService } from "./ingress.service.js";
export { renderIngressFor } from "./routes.repo.js";
export { currentCertificateFacts } from "./certificate-facts.js";

/**
 * Ownership labels: every Swarm object Stackyard creates (services on `deploy.labels`, networks, secrets) carries
 * them, and the agent refuses to deploy onto a Swarm stack whose services carry another environment's (or none)
 * unless the deployment explicitly adopts it. Part of the contract between the control plane and the agent.
 */
export const OWNERSHIP_LABELS = {
  environment: "io.stackyard.environment",
  org: "io.stackyard.org",
  deployment: "io.stackyard.deployment",
  release: "io.stackyard.release",
} as const;

/** On a Swarm secret: the environment secret's own name (the Swarm name also carries stack and a hash). */
export const SECRET_NAME_LABEL = "io.stackyard.secret";

/**
 * On the ingress proxy's Swarm service, network, configs and secrets: the cluster whose ingress they are. The agent
 * removes only configs and secrets carrying it (and the service's name in INGRESS_SERVICE_LABEL).
 */
export const INGRESS_CLUSTER_LABEL = "io.stackyard.ingress.cluster";
/** On the ingress proxy's configs and secrets: the Swarm service they were made for. */
export const INGRESS_SERVICE_LABEL = "io.stackyard.ingress.service";

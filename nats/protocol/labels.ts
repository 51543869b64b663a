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

/**
 * Every Moleculer event one service broadcasts to others: its name and its payload, in one place, so that the
 * emitter and the listeners (often the gateway) depend on this module rather than on each other.
 */
import type { ServiceBroker } from "moleculer";
import type { components } from "../../openapi/openapi.gen.js";

/** A credential stopped being valid: gateways drop it from their caches. */
export const CREDENTIALS_REVOKED_EVENT = "auth.credentials.revoked";
export interface CredentialsRevoked {
  tokenId?: string;
  sessionId?: string;
  userId?: string;
}

/** Events just persisted, and the status they led to: gateways push them to SSE clients. */
export const DEPLOYMENT_EVENTS_BROADCAST = "deployments.events";
export type DeploymentEventPayload = components["schemas"]["DeploymentEvent"];
export interface DeploymentEventsBroadcast {
  deploymentId: string;
  events: DeploymentEventPayload[];
  status: string | null;
}

/** Tells every gateway about newly persisted events (fire and forget: SSE clients can always replay). */
export function broadcastDeploymentEvents(broker: ServiceBroker, payload: DeploymentEventsBroadcast): void {
  void broker.broadcast(DEPLOYMENT_EVENTS_BROADCAST, payload);
}

/**
 * Cluster activity (Docker events) and security warnings just persisted, per org: the hand-off point for anything
 * that forwards them further (an integration publisher listens to this; nothing in the core depends on it).
 */
export const CLUSTER_ACTIVITY_EVENT = "clusters.activity";
export interface ClusterActivityBroadcast {
  orgId: string;
  clusterId: string;
  activity: Array<components["schemas"]["ClusterActivity"]>;
  securityWarnings: Array<components["schemas"]["ClusterSecurityWarning"]>;
}

export function broadcastClusterActivity(broker: ServiceBroker, payload: ClusterActivityBroadcast): void {
  void broker.broadcast(CLUSTER_ACTIVITY_EVENT, payload);
}

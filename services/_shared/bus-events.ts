/**
 * Every Moleculer event one service broadcasts to others: its name and its payload, in one place, so that the
 * emitter and the listeners (often the gateway) depend on this module rather than on each other.
 */
import type { ServiceBroker } from "moleculer";
import type { components } from "../../openapi/openapi.gen.js";
import type { ActorType, RequestInfo } from "./principal.js";

/** A credential stopped being valid: gateways drop it from their caches. */
export const CREDENTIALS_REVOKED_EVENT = "auth.credentials.revoked";
export interface CredentialsRevoked {
  tokenId?: string;
  sessionId?: string;
  userId?: string;
  /** Several users at once (an org's MFA policy ended the sessions of those without MFA). */
  userIds?: string[];
}

/**
 * A gateway refused a mutating request of an authenticated caller (services/api/refusal-audit.ts): one audit
 * instance writes its row. Fire and forget: the refusal has already been answered.
 */
export const REQUEST_REFUSED_EVENT = "audit.request.refused";
export interface RequestRefused {
  orgId: string;
  entry: {
    actorType: ActorType;
    actorId: string | null;
    action: string;
    targetType: string | null;
    targetId: string | null;
    data: Record<string, unknown>;
  };
  request: RequestInfo;
}

/**
 * A git sync source was polled (or an environment started following it): one deployments instance brings the
 * source's automatic, unpinned environments to its newest release. At most once; every later poll emits again.
 */
export const GIT_SYNC_POLLED_EVENT = "stacks.git-sync.polled";
export interface GitSyncPolled {
  orgId: string;
  sourceId: string;
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

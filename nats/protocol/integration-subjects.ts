/**
 * The integration subjects: the documented events the control plane publishes per org (catalogue:
 * openapi/asyncapi.yaml), and the permissions of an integration credential's user JWT.
 *
 *   stackyard.<orgId>.deployments.<environmentId>.<status>     approval_requested | created | started | succeeded |
 *                                                               failed | canceled | rejected
 *   stackyard.<orgId>.releases.<stackId>.created
 *   stackyard.<orgId>.environments.<environmentId>.<change>    created | overlay | secret   (names only, never values)
 *   stackyard.<orgId>.clusters.<clusterId>.status               online | degraded | offline | link_down (on a change)
 *   stackyard.<orgId>.clusters.<clusterId>.docker.<type>        service | task | node
 *   stackyard.<orgId>.clusters.<clusterId>.security-warning
 *   stackyard.<orgId>.audit.<action>                            the audit action, e.g. audit.secret.put
 *
 * An integration user may subscribe to `stackyard.<orgId>.>` and nothing else, and publish nothing: every
 * subject of the control plane, of agents, of JetStream and of other orgs stays closed to it.
 */
import type { MintUserOptions, UserLimits } from "../credentials.js";
import { assertSubjectToken } from "./subjects.js";

export const INTEGRATION_ROOT = "stackyard";

export const DEPLOYMENT_EVENT_STATUSES = [
  "approval_requested",
  "created",
  "started",
  "succeeded",
  "failed",
  "canceled",
  "rejected",
] as const;
export type DeploymentEventStatus = (typeof DEPLOYMENT_EVENT_STATUSES)[number];

const orgRoot = (orgId: string) => `${INTEGRATION_ROOT}.${assertSubjectToken(orgId, "orgId")}`;

/** An audit action (`secret.put`) becomes subject tokens; anything else is replaced so a subject stays valid. */
const actionTokens = (action: string) =>
  action
    .split(".")
    .map((t) => t.replace(/[^A-Za-z0-9_-]/g, "_") || "_")
    .join(".");

/** The families of the catalogue; a browser's live credential gets only those its user may read. */
export const INTEGRATION_TOPICS = ["deployments", "releases", "environments", "clusters", "audit"] as const;
export type IntegrationTopic = (typeof INTEGRATION_TOPICS)[number];

export const integrationSubjects = {
  orgWildcard: (orgId: string) => `${orgRoot(orgId)}.>`,
  topicWildcard: (orgId: string, topic: IntegrationTopic) => `${orgRoot(orgId)}.${topic}.>`,
  deployment: (orgId: string, environmentId: string, status: DeploymentEventStatus) =>
    `${orgRoot(orgId)}.deployments.${assertSubjectToken(environmentId, "environmentId")}.${status}`,
  releaseCreated: (orgId: string, stackId: string) =>
    `${orgRoot(orgId)}.releases.${assertSubjectToken(stackId, "stackId")}.created`,
  environment: (orgId: string, environmentId: string, change: "created" | "overlay" | "secret") =>
    `${orgRoot(orgId)}.environments.${assertSubjectToken(environmentId, "environmentId")}.${change}`,
  clusterStatus: (orgId: string, clusterId: string) =>
    `${orgRoot(orgId)}.clusters.${assertSubjectToken(clusterId, "clusterId")}.status`,
  dockerEvent: (orgId: string, clusterId: string, type: "service" | "task" | "node") =>
    `${orgRoot(orgId)}.clusters.${assertSubjectToken(clusterId, "clusterId")}.docker.${type}`,
  securityWarning: (orgId: string, clusterId: string) =>
    `${orgRoot(orgId)}.clusters.${assertSubjectToken(clusterId, "clusterId")}.security-warning`,
  audit: (orgId: string, action: string) => `${orgRoot(orgId)}.audit.${actionTokens(action)}`,
};

/**
 * An integration holds a few subscriptions and publishes nothing; the payload cap is what a client may publish
 * (refused anyway), kept small. `data` is -1 because nats-server enforces no user-level data limit.
 */
export const INTEGRATION_USER_LIMITS = {
  subs: 16,
  payload: 4 * 1024,
  data: -1,
} as const satisfies UserLimits;

export function integrationUserJwtOptions(
  orgId: string,
  credentialId: string,
): Pick<MintUserOptions, "name" | "permissions" | "allowedConnectionTypes" | "allowResponses" | "limits"> {
  return {
    name: `integration-${assertSubjectToken(credentialId, "credentialId")}`,
    permissions: {
      publish: [],
      // An empty allow list would mean "everything": deny all publishing explicitly.
      denyPublish: [">"],
      subscribe: [integrationSubjects.orgWildcard(orgId)],
    },
    allowedConnectionTypes: ["STANDARD"],
    allowResponses: false,
    limits: { ...INTEGRATION_USER_LIMITS },
  };
}

/** Where browsers reach the NATS websocket listener: the gateway's proxy on the UI's origin (services/api/live-proxy.ts). */
export const LIVE_PATH = "/v1/live";

/** How long a browser's live credential lives: it renews it through the API while its session lasts. */
export const LIVE_CREDENTIAL_TTL_SECONDS = 300;

/**
 * A browser's live-updates user (nats.ws through the gateway): WebSocket connections only, subscribe-only to the
 * topics its user may read, publish nothing, short-lived. The browser made the key pair; only its public key was
 * sent, so the seed never leaves the browser.
 */
export function liveUserJwtOptions(
  orgId: string,
  sessionLabel: string,
  topics: readonly IntegrationTopic[],
): Pick<MintUserOptions, "name" | "permissions" | "allowedConnectionTypes" | "allowResponses" | "limits"> {
  return {
    name: `live-${assertSubjectToken(sessionLabel, "sessionLabel")}`,
    permissions: {
      publish: [],
      denyPublish: [">"],
      subscribe: topics.map((topic) => integrationSubjects.topicWildcard(orgId, topic)),
    },
    allowedConnectionTypes: ["WEBSOCKET"],
    allowResponses: false,
    limits: { ...INTEGRATION_USER_LIMITS },
  };
}

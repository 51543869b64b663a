/**
 * SWR key factories: a key is `[path, query?]`, and the global fetcher GETs exactly that. Build keys only here so
 * a mutation revalidates the same key a list was read with.
 */
import type { Query } from "./client.js";

export type ApiKey = readonly [path: string, query?: Query];

const org = (orgId: string): string => `/v1/orgs/${encodeURIComponent(orgId)}`;

export interface AuditFilters {
  from?: string;
  to?: string;
  actor?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
}

export const AUDIT_PAGE_SIZE = 50;
export const LOG_TAIL = 200;

export const keys = {
  me: (): ApiKey => ["/v1/auth/me"],
  mfa: (): ApiKey => ["/v1/auth/mfa"],
  mfaPolicy: (orgId: string): ApiKey => [`${org(orgId)}/mfa-policy`],
  clusters: (orgId: string): ApiKey => [`${org(orgId)}/clusters`],
  cluster: (orgId: string, clusterId: string): ApiKey => [`${org(orgId)}/clusters/${encodeURIComponent(clusterId)}`],
  clusterNodes: (orgId: string, clusterId: string): ApiKey => [
    `${org(orgId)}/clusters/${encodeURIComponent(clusterId)}/nodes`,
  ],
  clusterServices: (orgId: string, clusterId: string): ApiKey => [
    `${org(orgId)}/clusters/${encodeURIComponent(clusterId)}/services`,
  ],
  /** One page of a cluster's activity, newest first; `before` is the previous page's `nextBefore`. */
  clusterActivityPage: (orgId: string, clusterId: string, limit: number, before: string | null): ApiKey => [
    `${org(orgId)}/clusters/${encodeURIComponent(clusterId)}/activity`,
    { limit, before },
  ],
  clusterSecurityWarnings: (orgId: string, clusterId: string): ApiKey => [
    `${org(orgId)}/clusters/${encodeURIComponent(clusterId)}/security-warnings`,
  ],
  composePolicy: (orgId: string): ApiKey => [`${org(orgId)}/compose-policy`],
  clusterComposePolicy: (orgId: string, clusterId: string): ApiKey => [
    `${org(orgId)}/clusters/${encodeURIComponent(clusterId)}/compose-policy`,
  ],
  users: (orgId: string): ApiKey => [`${org(orgId)}/users`],
  tokens: (orgId: string): ApiKey => [`${org(orgId)}/tokens`],
  token: (orgId: string, tokenId: string): ApiKey => [`${org(orgId)}/tokens/${encodeURIComponent(tokenId)}`],
  integrationCredentials: (orgId: string): ApiKey => [`${org(orgId)}/integration-credentials`],
  integrationCredential: (orgId: string, credentialId: string): ApiKey => [
    `${org(orgId)}/integration-credentials/${encodeURIComponent(credentialId)}`,
  ],
  notificationEndpoints: (orgId: string): ApiKey => [`${org(orgId)}/notification-endpoints`],
  notificationEndpoint: (orgId: string, endpointId: string): ApiKey => [
    `${org(orgId)}/notification-endpoints/${encodeURIComponent(endpointId)}`,
  ],
  notificationDeliveries: (orgId: string, endpointId: string): ApiKey => [
    `${org(orgId)}/notification-endpoints/${encodeURIComponent(endpointId)}/deliveries`,
  ],
  alertRules: (orgId: string): ApiKey => [`${org(orgId)}/alert-rules`],
  alerts: (orgId: string): ApiKey => [`${org(orgId)}/alerts`, { limit: 100 }],
  alert: (orgId: string, alertId: string): ApiKey => [`${org(orgId)}/alerts/${encodeURIComponent(alertId)}`],
  gitCredentials: (orgId: string): ApiKey => [`${org(orgId)}/git-credentials`],
  stacks: (orgId: string): ApiKey => [`${org(orgId)}/stacks`],
  stack: (orgId: string, stackId: string): ApiKey => [`${org(orgId)}/stacks/${encodeURIComponent(stackId)}`],
  environments: (stackId: string): ApiKey => [`/v1/stacks/${encodeURIComponent(stackId)}/environments`],
  releases: (stackId: string): ApiKey => [`/v1/stacks/${encodeURIComponent(stackId)}/releases`, { limit: 200 }],
  release: (releaseId: string): ApiKey => [`/v1/releases/${encodeURIComponent(releaseId)}`],
  build: (buildId: string): ApiKey => [`/v1/builds/${encodeURIComponent(buildId)}`],
  environment: (envId: string): ApiKey => [`/v1/environments/${encodeURIComponent(envId)}`],
  overlay: (envId: string): ApiKey => [`/v1/environments/${encodeURIComponent(envId)}/overlay`],
  syncSource: (sourceId: string): ApiKey => [`/v1/git-sources/${encodeURIComponent(sourceId)}`],
  syncSources: (stackId: string): ApiKey => [`/v1/stacks/${encodeURIComponent(stackId)}/git-sources`],
  previews: (stackId: string): ApiKey => [`/v1/stacks/${encodeURIComponent(stackId)}/previews`],
  previewSettings: (stackId: string): ApiKey => [`/v1/stacks/${encodeURIComponent(stackId)}/preview-settings`],
  secrets: (envId: string): ApiKey => [`/v1/environments/${encodeURIComponent(envId)}/secrets`],
  registryCredentials: (orgId: string): ApiKey => [`${org(orgId)}/registry-credentials`],
  registryCredential: (orgId: string, id: string): ApiKey => [
    `${org(orgId)}/registry-credentials/${encodeURIComponent(id)}`,
  ],
  environmentRegistryCredentials: (envId: string): ApiKey => [
    `/v1/environments/${encodeURIComponent(envId)}/registry-credentials`,
  ],
  diff: (envId: string, from: string, to: string | null): ApiKey => [
    `/v1/environments/${encodeURIComponent(envId)}/diff`,
    { from, to },
  ],
  /** One page of an environment's deployments, newest first; `before` is the previous page's `nextBefore`. */
  deploymentsPage: (envId: string, limit: number, before: string | null): ApiKey => [
    `/v1/environments/${encodeURIComponent(envId)}/deployments`,
    { limit, before },
  ],
  deployment: (deploymentId: string): ApiKey => [`/v1/deployments/${encodeURIComponent(deploymentId)}`],
  approvals: (orgId: string): ApiKey => [`${org(orgId)}/approvals`],
  environmentStatus: (envId: string): ApiKey => [`/v1/environments/${encodeURIComponent(envId)}/status`],
  serviceLogs: (
    envId: string,
    service: string,
    query: { tail: number; since?: number } = { tail: LOG_TAIL },
  ): ApiKey => [`/v1/environments/${encodeURIComponent(envId)}/services/${encodeURIComponent(service)}/logs`, query],
  auditPage: (orgId: string, filters: AuditFilters, cursor: string | null): ApiKey => [
    `${org(orgId)}/audit`,
    { ...filters, limit: AUDIT_PAGE_SIZE, cursor },
  ],
};

/** Paths of write endpoints that have no GET of their own. */
export const actions = {
  environmentPin: (envId: string): string => `/v1/environments/${encodeURIComponent(envId)}/pin`,
  environmentSync: (envId: string): string => `/v1/environments/${encodeURIComponent(envId)}/sync`,
  syncSources: (stackId: string): string => `/v1/stacks/${encodeURIComponent(stackId)}/git-sources`,
  preview: (previewId: string): string => `/v1/previews/${encodeURIComponent(previewId)}`,
  gitCredential: (orgId: string, credentialId: string): string =>
    `${org(orgId)}/git-credentials/${encodeURIComponent(credentialId)}`,
  gitCredentialHostKeys: (orgId: string, credentialId: string): string =>
    `${org(orgId)}/git-credentials/${encodeURIComponent(credentialId)}/host-keys`,
  createRelease: (stackId: string): string => `/v1/stacks/${encodeURIComponent(stackId)}/releases`,
  secret: (envId: string, name: string): string =>
    `/v1/environments/${encodeURIComponent(envId)}/secrets/${encodeURIComponent(name)}`,
  revokeCluster: (orgId: string, clusterId: string): string =>
    `${org(orgId)}/clusters/${encodeURIComponent(clusterId)}/revoke`,
  deploy: (envId: string): string => `/v1/environments/${encodeURIComponent(envId)}/deployments`,
  rollback: (envId: string): string => `/v1/environments/${encodeURIComponent(envId)}/rollback`,
  cancelDeployment: (deploymentId: string): string => `/v1/deployments/${encodeURIComponent(deploymentId)}/cancel`,
  decideApproval: (deploymentId: string): string => `/v1/deployments/${encodeURIComponent(deploymentId)}/approval`,
  promote: (envId: string): string => `/v1/environments/${encodeURIComponent(envId)}/promote`,
  deploymentEvents: (deploymentId: string): string => `/v1/deployments/${encodeURIComponent(deploymentId)}/events`,
  buildEvents: (buildId: string): string => `/v1/builds/${encodeURIComponent(buildId)}/events`,
  cancelBuild: (buildId: string): string => `/v1/builds/${encodeURIComponent(buildId)}/cancel`,
  serviceAction: (envId: string, service: string): string =>
    `/v1/environments/${encodeURIComponent(envId)}/services/${encodeURIComponent(service)}/actions`,
  scale: (envId: string, service: string): string =>
    `/v1/environments/${encodeURIComponent(envId)}/services/${encodeURIComponent(service)}/scale`,
  clusterNode: (orgId: string, clusterId: string, nodeId: string): string =>
    `${org(orgId)}/clusters/${encodeURIComponent(clusterId)}/nodes/${encodeURIComponent(nodeId)}`,
  acknowledgeSecurityWarning: (orgId: string, clusterId: string, warningId: string): string =>
    `${org(orgId)}/clusters/${encodeURIComponent(clusterId)}/security-warnings/${encodeURIComponent(warningId)}/acknowledge`,
  user: (orgId: string, userId: string): string => `${org(orgId)}/users/${encodeURIComponent(userId)}`,
  changePassword: (): string => "/v1/auth/password",
  mfaEnrollment: (): string => "/v1/auth/mfa/enrollment",
  confirmMfaEnrollment: (): string => "/v1/auth/mfa/enrollment/confirm",
  mfaRecoveryCodes: (): string => "/v1/auth/mfa/recovery-codes",
  disableMfa: (): string => "/v1/auth/mfa/disable",
  resetUserMfa: (orgId: string, userId: string): string => `${org(orgId)}/users/${encodeURIComponent(userId)}/mfa`,
  registrationToken: (orgId: string, clusterId: string): string =>
    `${org(orgId)}/clusters/${encodeURIComponent(clusterId)}/registration-token`,
};

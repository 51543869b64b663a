/** Every in-app URL, built in one place so links and routes agree. */
const org = (orgId: string): string => `/orgs/${encodeURIComponent(orgId)}`;

export const paths = {
  login: (params: { next?: string; org?: string; orgName?: string; email?: string; reason?: string } = {}): string => {
    const q = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => Boolean(e[1])));
    const s = q.toString();
    return s ? `/login?${s}` : "/login";
  },
  clusters: (orgId: string): string => `${org(orgId)}/clusters`,
  cluster: (orgId: string, clusterId: string): string => `${org(orgId)}/clusters/${encodeURIComponent(clusterId)}`,
  stacks: (orgId: string): string => `${org(orgId)}/stacks`,
  stack: (orgId: string, stackId: string): string => `${org(orgId)}/stacks/${encodeURIComponent(stackId)}`,
  release: (orgId: string, releaseId: string): string => `${org(orgId)}/releases/${encodeURIComponent(releaseId)}`,
  environment: (orgId: string, envId: string): string => `${org(orgId)}/environments/${encodeURIComponent(envId)}`,
  diff: (orgId: string, envId: string, to: string, from = "current"): string =>
    `${org(orgId)}/environments/${encodeURIComponent(envId)}/diff?${new URLSearchParams({ from, to }).toString()}`,
  service: (orgId: string, envId: string, service: string): string =>
    `${org(orgId)}/environments/${encodeURIComponent(envId)}/services/${encodeURIComponent(service)}`,
  deployment: (orgId: string, deploymentId: string): string =>
    `${org(orgId)}/deployments/${encodeURIComponent(deploymentId)}`,
  tokens: (orgId: string): string => `${org(orgId)}/tokens`,
  integrations: (orgId: string): string => `${org(orgId)}/integrations`,
  notifications: (orgId: string): string => `${org(orgId)}/notifications`,
  alerts: (orgId: string): string => `${org(orgId)}/alerts`,
  gitCredentials: (orgId: string): string => `${org(orgId)}/git-credentials`,
  users: (orgId: string): string => `${org(orgId)}/users`,
  audit: (orgId: string): string => `${org(orgId)}/audit`,
  approvals: (orgId: string): string => `${org(orgId)}/approvals`,
  composePolicy: (orgId: string): string => `${org(orgId)}/settings/compose-policy`,
  registries: (orgId: string): string => `${org(orgId)}/registries`,
  account: (orgId: string): string => `${org(orgId)}/account`,
};

/** Only same-app paths may be redirect targets after login (no `//evil.example` or absolute URLs). */
export function safeNext(next: string | null): string | null {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login") ? next : null;
}

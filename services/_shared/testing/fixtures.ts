/** Builders for integration tests that go through the real gateway. */
import type { Role } from "../permissions.js";
import type { ContractClient } from "./http.js";
import { TEST_BOOTSTRAP_TOKEN } from "./platform.js";
import { until } from "./wait.js";

export const TEST_PASSWORD = "correct horse battery staple";

/** The Docker facts a registering agent reports, for suites that register an agent by hand. */
export const TEST_AGENT_DOCKER_INFO = {
  dockerVersion: "20.10.24",
  apiVersion: "1.41",
  os: "Debian GNU/Linux 12",
  arch: "x86_64",
  swarmState: "active",
  isManager: true,
  nodeId: "node-1",
  clusterId: "swarm-1",
  nodeCount: 1,
  managerCount: 1,
};

export interface TestOrg {
  orgId: string;
  admin: TestUser;
}

export interface TestUser {
  userId: string;
  email: string;
  role: Role;
  accessToken: string;
  refreshToken: string;
  auth: Record<string, string>;
}

let counter = 0;
export const uniqueName = (prefix: string): string =>
  `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;

export async function loginAs(
  api: ContractClient,
  email: string,
  orgId?: string,
  password = TEST_PASSWORD,
): Promise<TestUser> {
  const res = await api.request<{ accessToken: string; refreshToken: string; user: { id: string; role: Role } }>(
    "POST",
    "/v1/auth/login",
    { body: { email, password, ...(orgId ? { orgId } : {}) } },
  );
  if (res.status !== 200) throw new Error(`login of ${email} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return {
    userId: res.body.user.id,
    email,
    role: res.body.user.role,
    accessToken: res.body.accessToken,
    refreshToken: res.body.refreshToken,
    auth: { authorization: `Bearer ${res.body.accessToken}` },
  };
}

/** Creates an org with the system bootstrap credential and logs its admin in. */
export async function createOrgWithAdmin(api: ContractClient, name = uniqueName("org")): Promise<TestOrg> {
  const email = `${name}-admin@example.test`;
  const res = await api.request<{ org: { id: string } }>("POST", "/v1/orgs", {
    body: { name, admin: { email, password: TEST_PASSWORD } },
    headers: { "x-bootstrap-token": TEST_BOOTSTRAP_TOKEN },
  });
  if (res.status !== 201) throw new Error(`org creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { orgId: res.body.org.id, admin: await loginAs(api, email, res.body.org.id) };
}

export async function createUserWithRole(api: ContractClient, org: TestOrg, role: Role): Promise<TestUser> {
  const email = `${uniqueName(role.toLowerCase())}@example.test`;
  const res = await api.request("POST", `/v1/orgs/${org.orgId}/users`, {
    body: { email, password: TEST_PASSWORD, role },
    headers: org.admin.auth,
  });
  if (res.status !== 201) throw new Error(`user creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return loginAs(api, email, org.orgId);
}

/** Waits until the cluster's status in the API is "online" (the agent's first heartbeat arrived); returns it. */
export async function waitForClusterOnline<
  T extends { status: string } = { status: string; facts: Record<string, unknown> },
>(api: ContractClient, org: TestOrg, clusterId: string, timeoutMs = 60_000): Promise<T> {
  return until(
    "the cluster to come online",
    async () => {
      const c = await api.get<T>(`/v1/orgs/${org.orgId}/clusters/${clusterId}`, org.admin.auth);
      return c.body.status === "online" ? c.body : undefined;
    },
    timeoutMs,
    300,
  );
}

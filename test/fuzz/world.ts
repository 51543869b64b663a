/**
 * The fuzz world: two orgs on the real control plane, each with users of every role, a cluster served by a
 * fake agent, a stack, an environment, releases, a finished deployment, a git credential, an API token and
 * spare clusters/tokens for the destructive operations, so generated requests can name real ids.
 */
import type { Db } from "../../services/_shared/db.js";
import type { Role } from "../../services/_shared/permissions.js";
import { startFakeAgent, type FakeAgent } from "../../services/_shared/testing/fake-agent.js";
import {
  TEST_PASSWORD,
  createOrgWithAdmin,
  createUserWithRole,
  loginAs,
  uniqueName,
  type TestUser,
} from "../../services/_shared/testing/fixtures.js";
import type { ContractClient } from "../../services/_shared/testing/http.js";
import { until } from "../../services/_shared/testing/wait.js";
import type { CommandEnvelope, DeployStack } from "../../nats/protocol/messages.js";

export const FUZZ_COMPOSE = "services:\n  app:\n    image: nginx:1.27\n    deploy:\n      replicas: 1\n";

export interface Principal {
  name: string;
  role: Role;
  orgId: string;
  email: string;
  auth: Record<string, string>;
}

export interface OrgWorld {
  orgId: string;
  principals: Record<Role, Principal>;
  agent: FakeAgent;
  clusterId: string;
  /** Clusters that deleteCluster / revokeCluster may consume. */
  spareClusterIds: string[];
  stackId: string;
  envId: string;
  releaseIds: string[];
  deploymentIds: string[];
  credentialIds: string[];
  /** API tokens revokeToken may consume. */
  tokenIds: string[];
  /** A user only the login operation uses (failed logins throttle it, never a principal). */
  loginEmail: string;
  /** Sessions only refresh uses. */
  refreshTokens: string[];
  /** The caller of logout (it ends the caller's own session): never one of the principals. */
  session: Principal;
}

export interface FuzzWorld {
  own: OrgWorld;
  other: OrgWorld;
}

type Json = Record<string, unknown>;

async function created(api: ContractClient, path: string, body: unknown, auth: Record<string, string>): Promise<Json> {
  const res = await api.request<Json>("POST", path, { body, headers: auth });
  if (res.status !== 201 && res.status !== 200 && res.status !== 202)
    throw new Error(`fuzz world: POST ${path} → ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

function principalOf(user: TestUser, orgId: string, name: string): Principal {
  return { name, role: user.role, orgId, email: user.email, auth: user.auth };
}

/** A fake agent that answers every command the control plane sends with a valid result. */
function scriptAgent(agent: FakeAgent): void {
  const deploy = (command: CommandEnvelope) => {
    const p = command.payload as unknown as DeployStack;
    setTimeout(() => {
      void (async () => {
        await agent.emit(p.deploymentId, p.firstSeq, "Creating service app");
        await agent.emit(p.deploymentId, p.firstSeq + 1, "converged", { outcome: "succeeded" });
      })().catch(() => undefined);
    }, 20);
    return { deploymentId: p.deploymentId, status: "started" };
  };
  agent.handlers.set("DeployStack", deploy);
  agent.handlers.set("RollbackStack", deploy);
  // The managed ingress: the proxy is "rolled out" at once with the config it was sent.
  agent.handlers.set("ApplyIngress", (c) => ({
    serviceId: "ingress-service",
    created: false,
    changed: true,
    configName: (c.payload as { config: { name: string } }).config.name,
    removed: 0,
  }));
  agent.handlers.set("CancelDeployment", (c) => ({
    deploymentId: (c.payload as { deploymentId: string }).deploymentId,
    canceled: true,
  }));
  agent.handlers.set("GetStatus", (c) => {
    const stackName = (c.payload as { stackName: string }).stackName;
    return {
      stackName,
      exists: true,
      services: [
        {
          id: "s1",
          name: `${stackName}_app`,
          image: "nginx:1.27",
          mode: "replicated",
          desiredReplicas: 1,
          runningReplicas: 1,
          updatedAt: "2026-01-01T00:00:00Z",
          tasks: [],
        },
      ],
    };
  });
  agent.handlers.set("GetLogs", () => ({
    lines: [{ stream: "stdout", ts: "2026-01-01T00:00:00.000000000Z", line: "hello" }],
    truncated: false,
  }));
  agent.handlers.set("SearchLogs", (c) => ({
    lines: [
      {
        service: (c.payload as { services: string[] }).services[0]!,
        task: null,
        node: null,
        stream: "stdout",
        ts: "2026-01-01T00:00:00.000000000Z",
        line: "hello",
      },
    ],
    truncated: false,
  }));
  // Deleting an environment asks the agent to remove its objects: this cluster has none to remove.
  agent.handlers.set("RemoveStack", (c) => {
    const none = { services: [], networks: [], secrets: [], configs: [] };
    return { stackName: (c.payload as { stackName: string }).stackName, removed: none, leftInPlace: none };
  });
  agent.handlers.set("ScaleService", (c) => {
    const p = c.payload as { stackName: string; service: string; replicas: number };
    return { service: `${p.stackName}_${p.service}`, previousReplicas: 1, replicas: p.replicas };
  });
  agent.handlers.set("UpdateService", (c) => {
    const p = c.payload as { stackName: string; service: string; action: "restart" | "rollback" };
    return { service: `${p.stackName}_${p.service}`, action: p.action, image: "nginx:1.27" };
  });
}

async function buildOrg(api: ContractClient, natsUrl: string, label: string): Promise<OrgWorld> {
  const org = await createOrgWithAdmin(api, uniqueName(`fuzz-${label}`));
  const auth = org.admin.auth;
  const base = `/v1/orgs/${org.orgId}`;
  const principals = {
    ORG_ADMIN: principalOf(org.admin, org.orgId, `${label}:ORG_ADMIN`),
  } as Record<Role, Principal>;
  for (const role of ["CLUSTER_ADMIN", "APP_ADMIN", "VIEWER"] as const)
    principals[role] = principalOf(await createUserWithRole(api, org, role), org.orgId, `${label}:${role}`);
  const agent = await startFakeAgent(api, natsUrl, { orgId: org.orgId, auth }, uniqueName("fuzz"));
  scriptAgent(agent);
  const spareClusterIds: string[] = [];
  for (let i = 0; i < 3; i++)
    spareClusterIds.push(
      ((await created(api, `${base}/clusters`, { name: uniqueName("spare") }, auth)).cluster as Json).id as string,
    );
  const stack = await created(api, `${base}/stacks`, { name: uniqueName("fz").replace(/[^a-z0-9-]/g, "") }, auth);
  const stackId = stack.id as string;
  const env = await created(
    api,
    `/v1/stacks/${stackId}/environments`,
    { name: "prod", clusterId: agent.clusterId },
    auth,
  );
  const envId = env.id as string;
  const releaseIds: string[] = [];
  for (const tag of ["1.25", "1.27"])
    releaseIds.push(
      (
        await created(
          api,
          `/v1/stacks/${stackId}/releases`,
          { sourceType: "upload", composeYaml: FUZZ_COMPOSE.replace("1.27", tag) },
          auth,
        )
      ).id as string,
    );
  const deployment = await created(api, `/v1/environments/${envId}/deployments`, { releaseId: releaseIds[0] }, auth);
  const deploymentId = deployment.id as string;
  await until(`fuzz world deployment ${deploymentId} finished`, async () => {
    const res = await api.get<{ status: string }>(`/v1/deployments/${deploymentId}`, auth);
    return ["SUCCEEDED", "FAILED", "CANCELED"].includes(res.body.status) ? true : undefined;
  });
  await api.request("PUT", `/v1/environments/${envId}/secrets/db_password`, {
    body: { value: "fuzz-secret-value" },
    headers: auth,
  });
  const credential = await created(
    api,
    `${base}/git-credentials`,
    { name: uniqueName("cred"), type: "https", token: "fuzz-token-value" },
    auth,
  );
  const tokenIds: string[] = [];
  for (let i = 0; i < 3; i++)
    tokenIds.push(
      (await created(api, `${base}/tokens`, { name: uniqueName("tok"), scopes: ["stacks:read"] }, auth)).id as string,
    );
  const loginUser = await createUserWithRole(api, org, "VIEWER");
  const refreshTokens: string[] = [];
  for (let i = 0; i < 3; i++) refreshTokens.push((await loginAs(api, loginUser.email, org.orgId)).refreshToken);
  const sessionUser = await createUserWithRole(api, org, "VIEWER");
  return {
    orgId: org.orgId,
    principals,
    agent,
    clusterId: agent.clusterId,
    spareClusterIds,
    stackId,
    envId,
    releaseIds,
    deploymentIds: [deploymentId],
    credentialIds: [credential.id as string],
    tokenIds,
    loginEmail: loginUser.email,
    refreshTokens,
    session: principalOf(sessionUser, org.orgId, `${label}:session`),
  };
}

export async function buildFuzzWorld(api: ContractClient, natsUrl: string): Promise<FuzzWorld> {
  return { own: await buildOrg(api, natsUrl, "own"), other: await buildOrg(api, natsUrl, "other") };
}

/** Access tokens live ≤ 15 minutes: long runs log every principal in again. */
export async function refreshPrincipals(api: ContractClient, world: FuzzWorld): Promise<void> {
  for (const org of [world.own, world.other])
    for (const p of Object.values(org.principals)) p.auth = await loginWaitingOutThrottle(api, p.email, org.orgId);
}

/** Attempts of one re-login while the login stays throttled. */
const THROTTLED_LOGIN_ATTEMPTS = 5;

/**
 * The fuzzer's own wrong-password cases throttle logins from its address (429 LOGIN_THROTTLED): a re-login between
 * two parts of a long run waits out `retryAfterSeconds`, as a client would, instead of ending the run.
 */
async function loginWaitingOutThrottle(
  api: ContractClient,
  email: string,
  orgId: string,
): Promise<Record<string, string>> {
  for (let attempt = 1; ; attempt++) {
    const res = await api.request<{
      accessToken?: string;
      error?: { code: string; details?: { retryAfterSeconds?: number } };
    }>("POST", "/v1/auth/login", { body: { email, password: TEST_PASSWORD, orgId } });
    if (res.status === 200 && res.body.accessToken) return { authorization: `Bearer ${res.body.accessToken}` };
    const wait = res.body.error?.code === "LOGIN_THROTTLED" ? res.body.error.details?.retryAfterSeconds : undefined;
    if (wait === undefined || attempt >= THROTTLED_LOGIN_ATTEMPTS)
      throw new Error(`login of ${email} failed: ${res.status} ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, (wait + 1) * 1000));
  }
}

/** A new session for the logout caller, after a logout ended the last one. */
export async function renewSession(api: ContractClient, org: OrgWorld): Promise<void> {
  org.session.auth = await loginWaitingOutThrottle(api, org.session.email, org.orgId);
}

export async function stopFuzzWorld(world: FuzzWorld | undefined): Promise<void> {
  await world?.own.agent.close();
  await world?.other.agent.close();
}

/** Row counts of every table a request writes synchronously: a refused write must leave them unchanged. */
export const WATCHED_TABLES = [
  "orgs",
  "users",
  "api_tokens",
  "clusters",
  "cluster_registration_tokens",
  "git_credentials",
  "stacks",
  "environments",
  "stack_releases",
  "stack_overlays",
  "environment_secrets",
  "deployments",
  "deployment_idempotency_keys",
] as const;

export async function tableCounts(db: Db): Promise<Record<string, number>> {
  const sql = WATCHED_TABLES.map((t) => `(select count(*)::int from ${t}) as ${t}`).join(", ");
  const result = await db.raw<{ rows: Record<string, number>[] }>(`select ${sql}`);
  return result.rows[0] ?? {};
}

/**
 * Lifecycle operations through the real gateway, Postgres and NATS (the agent is a scripted stand-in; the real
 * one removes a real Swarm stack in test/e2e/lifecycle.e2e.spec.ts): renaming and deleting stacks and
 * environments, the 409 rules, RemoveStack, role changes, user removal and password changes.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import type { Db } from "../_shared/db.js";
import { startFakeAgent, type FakeAgent } from "../_shared/testing/fake-agent.js";
import {
  TEST_PASSWORD,
  createOrgWithAdmin,
  createUserWithRole,
  loginAs,
  uniqueName,
  type TestOrg,
  type TestUser,
} from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import type { TestNatsServer } from "../_shared/testing/nats-server.js";
import type { TestPlatform } from "../_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";
import { TenantScope } from "../_shared/tenant.js";
import type { CommandEnvelope, RemoveStack, RemoveStackResult } from "../../nats/protocol/messages.js";
import { putSecret } from "./index.js";
import { parseMasterKeys } from "../_shared/master-keys.js";
import { TEST_MASTER_KEY } from "../_shared/testing/platform.js";

interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}
const REQUEST_TIMEOUT_MS = 4_000;
const slug = (prefix: string) => uniqueName(prefix).replace(/[^a-z0-9-]/g, "");

describe("lifecycle operations (real gateway, Postgres, NATS; scripted agent)", function () {
  this.timeout(90_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;
  let agent: FakeAgent;
  let viewer: TestUser;
  let appAdmin: TestUser;
  let onRemove: (payload: RemoveStack, command: CommandEnvelope) => RemoveStackResult | Promise<RemoveStackResult>;

  const post = <T>(path: string, body: unknown, auth = org.admin.auth) =>
    api.request<T>("POST", path, { body, headers: auth });
  const patch = <T>(path: string, body: unknown, auth = org.admin.auth) =>
    api.request<T>("PATCH", path, { body, headers: auth });
  const del = <T>(path: string, auth = org.admin.auth) => api.request<T>("DELETE", path, { headers: auth });

  async function newStack(clusterId = agent.clusterId) {
    const stack = await post<{ id: string; name: string }>(`/v1/orgs/${org.orgId}/stacks`, { name: slug("shop") });
    expect(stack.status).to.equal(201);
    const env = await post<{ id: string; swarmStack: string }>(`/v1/stacks/${stack.body.id}/environments`, {
      name: "staging",
      clusterId,
    });
    expect(env.status, JSON.stringify(env.body)).to.equal(201);
    const release = await post<{ id: string }>(`/v1/stacks/${stack.body.id}/releases`, {
      sourceType: "upload",
      composeYaml: "services:\n  web:\n    image: nginx:1.27\n",
    });
    expect(release.status).to.equal(201);
    return { stack: stack.body, env: env.body, releaseId: release.body.id };
  }
  const auditOf = async (action: string, targetId: string) =>
    db("audit_events").where({ org_id: org.orgId, action, target_id: targetId });

  before(async () => {
    // A short default request timeout shows that a removal is given the time it needs (its action's own timeout).
    ({ db, nats, platform, api } = await startTestStack({ REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) }));
    org = await createOrgWithAdmin(api);
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "fake");
    agent.handlers.set(
      "RemoveStack",
      (command) => onRemove(command.payload as unknown as RemoveStack, command) as unknown as Record<string, unknown>,
    );
    viewer = await createUserWithRole(api, org, "VIEWER");
    appAdmin = await createUserWithRole(api, org, "APP_ADMIN");
  });
  after(async () => {
    await agent?.close();
    await stopTestStack({ db, nats, platform });
  });

  describe("stacks and environments", () => {
    it("renames a stack and an environment and changes the deploy timeout; the Swarm stack stays", async () => {
      const { stack, env } = await newStack();
      const renamed = slug("store");
      const s = await patch<{ name: string; description: string }>(`/v1/orgs/${org.orgId}/stacks/${stack.id}`, {
        name: renamed,
        description: "the shop",
      });
      expect(s.status, JSON.stringify(s.body)).to.equal(200);
      expect(s.body).to.include({ name: renamed, description: "the shop" });
      const e = await patch<{ name: string; swarmStack: string; deployTimeoutSeconds: number }>(
        `/v1/environments/${env.id}`,
        { name: "preprod", deployTimeoutSeconds: 120 },
        appAdmin.auth,
      );
      expect(e.status, JSON.stringify(e.body)).to.equal(200);
      expect(e.body).to.include({ name: "preprod", swarmStack: env.swarmStack, deployTimeoutSeconds: 120 });
      const [audit] = await auditOf("environment.update", env.id);
      expect(audit.data_json.changed).to.deep.equal({
        name: ["staging", "preprod"],
        deploy_timeout_seconds: [600, 120],
      });
      expect(await auditOf("stack.update", stack.id)).to.have.length(1);
    });

    it("refuses names already taken, empty changes and out-of-range timeouts with codes", async () => {
      const a = await newStack();
      const b = await newStack();
      const taken = await patch<ErrorBody>(`/v1/orgs/${org.orgId}/stacks/${a.stack.id}`, { name: b.stack.name });
      expect(taken.status).to.equal(409);
      expect(taken.body.error.code).to.equal("STACK_EXISTS");
      await post(`/v1/stacks/${a.stack.id}/environments`, { name: "prod", clusterId: agent.clusterId });
      const envTaken = await patch<ErrorBody>(`/v1/environments/${a.env.id}`, { name: "prod" });
      expect(envTaken.status).to.equal(409);
      expect(envTaken.body.error.code).to.equal("ENVIRONMENT_EXISTS");
      const empty = await patch<ErrorBody>(`/v1/environments/${a.env.id}`, {});
      expect(empty.status).to.equal(400);
      const tooShort = await patch<ErrorBody>(`/v1/environments/${a.env.id}`, { deployTimeoutSeconds: 1 });
      expect(tooShort.status).to.equal(400);
      expect(tooShort.body.error.code).to.equal("VALIDATION_FAILED");
      const swarm = await patch<ErrorBody>(`/v1/environments/${a.env.id}`, { swarmStack: "other" });
      expect(swarm.status).to.equal(400);
      const [row] = await db("environments").where({ id: a.env.id });
      expect(row).to.include({ name: "staging", swarm_stack: a.env.swarmStack });
    });

    it("sets the image resolution: `always` for a new environment, changed by PATCH, audited, VIEWER refused", async () => {
      const { env } = await newStack();
      expect((env as unknown as { imageResolution: string }).imageResolution).to.equal("always");
      const set = await patch<{ imageResolution: string }>(
        `/v1/environments/${env.id}`,
        { imageResolution: "never" },
        appAdmin.auth,
      );
      expect(set.status, JSON.stringify(set.body)).to.equal(200);
      expect(set.body.imageResolution).to.equal("never");
      const [audit] = await auditOf("environment.update", env.id);
      expect(audit.data_json.changed).to.deep.equal({ image_resolution: ["always", "never"] });
      const bad = await patch<ErrorBody>(`/v1/environments/${env.id}`, { imageResolution: "sometimes" });
      expect(bad.status).to.equal(400);
      expect(bad.body.error.code).to.equal("VALIDATION_FAILED");
      const viewerSet = await patch<ErrorBody>(
        `/v1/environments/${env.id}`,
        { imageResolution: "always" },
        viewer.auth,
      );
      expect(viewerSet.status).to.equal(403);
      const [row] = await db("environments").where({ id: env.id });
      expect(row.image_resolution).to.equal("never");
    });

    it("moves an environment to another cluster of the org only while nothing of it is deployed", async () => {
      const newCluster = async (o: TestOrg) => {
        const res = await post<{ cluster: { id: string } }>(
          `/v1/orgs/${o.orgId}/clusters`,
          { name: slug("target") },
          o.admin.auth,
        );
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        return res.body.cluster.id;
      };
      const target = await newCluster(org);
      const { env, releaseId } = await newStack();

      const foreign = await patch<ErrorBody>(`/v1/environments/${env.id}`, {
        clusterId: await newCluster(await createOrgWithAdmin(api)),
      });
      expect(foreign.status).to.equal(404);
      expect(foreign.body.error.code).to.equal("CLUSTER_NOT_FOUND");
      expect(
        (await patch<ErrorBody>(`/v1/environments/${env.id}`, { clusterId: target }, viewer.auth)).status,
      ).to.equal(403);

      // Another environment of the target cluster deploys into the same Swarm stack.
      const other = await post<{ id: string }>(`/v1/orgs/${org.orgId}/stacks`, { name: slug("other") });
      const clash = await post<{ id: string }>(`/v1/stacks/${other.body.id}/environments`, {
        name: "prod",
        clusterId: target,
        swarmStack: env.swarmStack,
      });
      expect(clash.status, JSON.stringify(clash.body)).to.equal(201);
      const taken = await patch<ErrorBody>(`/v1/environments/${env.id}`, { clusterId: target });
      expect(taken.status).to.equal(409);
      expect(taken.body.error.code).to.equal("SWARM_STACK_TAKEN");
      await db("environments").where({ id: clash.body.id }).delete();

      const moved = await patch<{ clusterId: string }>(
        `/v1/environments/${env.id}`,
        { clusterId: target },
        appAdmin.auth,
      );
      expect(moved.status, JSON.stringify(moved.body)).to.equal(200);
      expect(moved.body.clusterId).to.equal(target);
      const [audit] = await auditOf("environment.update", env.id);
      expect(audit.data_json.changed).to.deep.equal({ cluster_id: [agent.clusterId, target] });

      // A deployment since the move (waiting or dispatched) pins it to the cluster; one from before does not.
      const [dep] = await db("deployments")
        .insert({ org_id: org.orgId, environment_id: env.id, release_id: releaseId, kind: "deploy", status: "PENDING" })
        .returning("id");
      const busy = await patch<ErrorBody>(`/v1/environments/${env.id}`, { clusterId: agent.clusterId });
      expect(busy.status).to.equal(409);
      expect(busy.body.error.code).to.equal("ENVIRONMENT_DEPLOYED");
      await db("deployments").where({ id: dep.id }).update({ status: "FAILED", finished_at: new Date() });
      const failedBeforeDispatch = await patch<{ clusterId: string }>(`/v1/environments/${env.id}`, {
        clusterId: agent.clusterId,
      });
      expect(failedBeforeDispatch.status, "a deployment that never reached the agent left nothing").to.equal(200);
      await db("deployments").insert({
        org_id: org.orgId,
        environment_id: env.id,
        release_id: releaseId,
        kind: "deploy",
        status: "SUCCEEDED",
        started_at: new Date(),
        finished_at: new Date(),
      });
      const deployed = await patch<ErrorBody>(`/v1/environments/${env.id}`, { clusterId: target });
      expect(deployed.status).to.equal(409);
      expect(deployed.body.error.code).to.equal("ENVIRONMENT_DEPLOYED");
      const [row] = await db("environments").where({ id: env.id });
      expect(row.cluster_id).to.equal(agent.clusterId);
    });

    it("lets a VIEWER change nothing", async () => {
      const { stack, env } = await newStack();
      for (const res of [
        await patch<ErrorBody>(`/v1/orgs/${org.orgId}/stacks/${stack.id}`, { name: slug("x") }, viewer.auth),
        await del<ErrorBody>(`/v1/orgs/${org.orgId}/stacks/${stack.id}`, viewer.auth),
        await patch<ErrorBody>(`/v1/environments/${env.id}`, { name: "x" }, viewer.auth),
        await del<ErrorBody>(`/v1/environments/${env.id}`, viewer.auth),
      ]) {
        expect(res.status).to.equal(403);
        expect(res.body.error.code).to.equal("PERMISSION_DENIED");
      }
      expect(agent.received.filter((c) => c.type === "RemoveStack")).to.have.length(0);
    });

    it("deletes a stack only without environments (409 STACK_HAS_ENVIRONMENTS), with its releases", async () => {
      const { stack, env } = await newStack();
      const refused = await del<ErrorBody>(`/v1/orgs/${org.orgId}/stacks/${stack.id}`);
      expect(refused.status).to.equal(409);
      expect(refused.body.error.code).to.equal("STACK_HAS_ENVIRONMENTS");
      expect(refused.body.error.message).to.contain("staging");
      expect(await del(`/v1/environments/${env.id}?keepRunning=true`)).to.have.property("status", 200);
      const deleted = await del<{ id: string }>(`/v1/orgs/${org.orgId}/stacks/${stack.id}`);
      expect(deleted.status).to.equal(200);
      expect(await db("stacks").where({ id: stack.id })).to.have.length(0);
      expect(await db("stack_releases").where({ stack_id: stack.id })).to.have.length(0);
      const [audit] = await auditOf("stack.delete", stack.id);
      expect(audit.data_json).to.include({ name: stack.name, releasesDeleted: 1 });
      expect((await api.get(`/v1/orgs/${org.orgId}/stacks/${stack.id}`, org.admin.auth)).status).to.equal(404);
    });

    it("refuses to delete an environment while a deployment is PENDING or RUNNING (409 ENVIRONMENT_BUSY)", async () => {
      const { env, releaseId } = await newStack();
      const [running] = await db("deployments")
        .insert({ org_id: org.orgId, environment_id: env.id, release_id: releaseId, status: "RUNNING" })
        .returning("id");
      const refused = await del<ErrorBody>(`/v1/environments/${env.id}`);
      expect(refused.status).to.equal(409);
      expect(refused.body.error.code).to.equal("ENVIRONMENT_BUSY");
      expect(refused.body.error.details).to.deep.include({ deploymentId: running.id, status: "RUNNING" });
      const alsoWithKeep = await del<ErrorBody>(`/v1/environments/${env.id}?keepRunning=true`);
      expect(alsoWithKeep.status).to.equal(409);
      expect(await db("environments").where({ id: env.id })).to.have.length(1);
      expect(agent.received.filter((c) => (c.payload as { environmentId?: string }).environmentId === env.id)).to.be
        .empty;
    });

    it("deletes an environment after the agent removed its Swarm stack: overlay, secrets, history go, audit stays", async () => {
      const { env, releaseId } = await newStack();
      await putSecret(
        new TenantScope(db, org.orgId),
        { environmentId: env.id, name: "db_password", value: Buffer.from("s3cret-value"), services: [], actor: null },
        parseMasterKeys(TEST_MASTER_KEY),
      );
      const now = new Date();
      const [done] = await db("deployments")
        .insert({
          org_id: org.orgId,
          environment_id: env.id,
          release_id: releaseId,
          status: "SUCCEEDED",
          started_at: now,
          finished_at: now,
        })
        .returning("id");
      onRemove = (p) => ({
        stackName: p.stackName,
        removed: {
          services: [`${p.stackName}_web`],
          networks: [`${p.stackName}_default`],
          secrets: [`${p.stackName}_db_password_abc`],
          configs: [],
        },
        leftInPlace: { services: [`${p.stackName}_handmade`], networks: [], secrets: [], configs: [] },
      });
      const res = await del<{ removed: { services: string[] }; leftInPlace: { services: string[] } }>(
        `/v1/environments/${env.id}`,
        appAdmin.auth,
      );
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.removed.services).to.deep.equal([`${env.swarmStack}_web`]);
      expect(res.body.leftInPlace.services).to.deep.equal([`${env.swarmStack}_handmade`]);
      const command = agent.received.filter((c) => c.type === "RemoveStack").at(-1)!;
      expect(command.payload).to.deep.equal({ stackName: env.swarmStack, environmentId: env.id });
      expect(command.orgId).to.equal(org.orgId);
      for (const table of ["environments", "stack_overlays", "environment_secrets", "deployments"]) {
        const column = table === "environments" ? "id" : "environment_id";
        expect(await db(table).where({ [column]: env.id }), table).to.have.length(0);
      }
      expect(await db("deployment_events").where({ deployment_id: done.id })).to.have.length(0);
      const [audit] = await auditOf("environment.delete", env.id);
      expect(audit.data_json).to.include({ swarmStack: env.swarmStack, keepRunning: false, deploymentsDeleted: 1 });
      expect(audit.data_json.removedObjects).to.deep.equal([
        `service ${env.swarmStack}_web`,
        `network ${env.swarmStack}_default`,
        `secret ${env.swarmStack}_db_password_abc`,
      ]);
      expect(audit.data_json.leftInPlaceObjects).to.deep.equal([`service ${env.swarmStack}_handmade`]);
      expect(await auditOf("environment.create", env.id)).to.have.length(1);
      expect((await api.get(`/v1/environments/${env.id}`, org.admin.auth)).status).to.equal(404);
    });

    it("keeps the environment when the agent refuses (502) or cannot be reached (503); keepRunning forgets it", async () => {
      const { env } = await newStack();
      // An agent without the command answers NOT_SUPPORTED: the REST answer is 502 with the agent's code.
      agent.handlers.delete("RemoveStack");
      const refused = await del<ErrorBody>(`/v1/environments/${env.id}`);
      expect(refused.status).to.equal(502);
      expect(refused.body.error.code).to.equal("AGENT_REJECTED");
      expect(refused.body.error.details).to.deep.equal({ agentCode: "NOT_SUPPORTED" });
      expect(await db("environments").where({ id: env.id })).to.have.length(1);
      agent.handlers.set(
        "RemoveStack",
        (command) => onRemove(command.payload as unknown as RemoveStack, command) as unknown as Record<string, unknown>,
      );

      // A cluster whose agent never connected.
      const cluster = await post<{ cluster: { id: string } }>(`/v1/orgs/${org.orgId}/clusters`, { name: slug("c") });
      const offline = await newStack(cluster.body.cluster.id);
      const unreachable = await del<ErrorBody>(`/v1/environments/${offline.env.id}`);
      expect(unreachable.status).to.equal(503);
      expect(unreachable.body.error.code).to.equal("AGENT_UNREACHABLE");
      expect(await db("environments").where({ id: offline.env.id })).to.have.length(1);
      const before = agent.received.length;
      const kept = await del<{ keptRunning: boolean; removed: unknown }>(
        `/v1/environments/${offline.env.id}?keepRunning=true`,
      );
      expect(kept.status).to.equal(200);
      expect(kept.body).to.deep.include({ keptRunning: true, removed: null });
      expect(agent.received.length).to.equal(before);
      expect(await db("environments").where({ id: offline.env.id })).to.have.length(0);
      const [audit] = await auditOf("environment.delete", offline.env.id);
      expect(audit.data_json).to.include({ keepRunning: true });
    });

    it("waits for a slow removal past the default request timeout", async () => {
      const { env } = await newStack();
      onRemove = async (p) => {
        await new Promise((resolve) => setTimeout(resolve, REQUEST_TIMEOUT_MS + 1_500));
        return {
          stackName: p.stackName,
          removed: { services: [], networks: [], secrets: [], configs: [] },
          leftInPlace: { services: [], networks: [], secrets: [], configs: [] },
        };
      };
      const res = await del<{ keptRunning: boolean }>(`/v1/environments/${env.id}`);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(await db("environments").where({ id: env.id })).to.have.length(0);
    });

    it("answers 404 for another org's stack and environment", async () => {
      const { stack, env } = await newStack();
      const other = await createOrgWithAdmin(api);
      expect((await del(`/v1/environments/${env.id}`, other.admin.auth)).status).to.equal(404);
      expect((await patch(`/v1/environments/${env.id}`, { name: "x" }, other.admin.auth)).status).to.equal(404);
      expect((await del(`/v1/orgs/${other.orgId}/stacks/${stack.id}`, other.admin.auth)).status).to.equal(404);
      expect(
        (await patch(`/v1/orgs/${other.orgId}/stacks/${stack.id}`, { name: "x" }, other.admin.auth)).status,
      ).to.equal(404);
      expect(await db("environments").where({ id: env.id })).to.have.length(1);
    });
  });

  describe("users", () => {
    it("changes a role with immediate effect on the user's cached credentials, audited", async () => {
      const user = await createUserWithRole(api, org, "APP_ADMIN");
      expect((await api.get(`/v1/orgs/${org.orgId}/tokens`, user.auth)).status).to.equal(200);
      const res = await patch<{ role: string }>(`/v1/orgs/${org.orgId}/users/${user.userId}`, { role: "VIEWER" });
      expect(res.status).to.equal(200);
      expect(res.body.role).to.equal("VIEWER");
      const after = await api.get<ErrorBody>(`/v1/orgs/${org.orgId}/tokens`, user.auth);
      expect(after.status).to.equal(403);
      const [audit] = await auditOf("user.role_change", user.userId);
      expect(audit.data_json).to.include({ from: "APP_ADMIN", to: "VIEWER" });
    });

    it("never demotes or removes the last ORG_ADMIN (409 LAST_ORG_ADMIN)", async () => {
      const solo = await createOrgWithAdmin(api);
      const demote = await api.request<ErrorBody>("PATCH", `/v1/orgs/${solo.orgId}/users/${solo.admin.userId}`, {
        body: { role: "VIEWER" },
        headers: solo.admin.auth,
      });
      expect(demote.status).to.equal(409);
      expect(demote.body.error.code).to.equal("LAST_ORG_ADMIN");
      const remove = await api.request<ErrorBody>("DELETE", `/v1/orgs/${solo.orgId}/users/${solo.admin.userId}`, {
        headers: solo.admin.auth,
      });
      expect(remove.status).to.equal(409);
      expect(remove.body.error.code).to.equal("LAST_ORG_ADMIN");
      // With a second admin, two concurrent demotions still leave one.
      const email = `${uniqueName("admin2")}@example.test`;
      const second = await api.request<{ id: string }>("POST", `/v1/orgs/${solo.orgId}/users`, {
        body: { email, password: TEST_PASSWORD, role: "ORG_ADMIN" },
        headers: solo.admin.auth,
      });
      const both = await Promise.all(
        [solo.admin.userId, second.body.id].map((id) =>
          api.request<ErrorBody>("PATCH", `/v1/orgs/${solo.orgId}/users/${id}`, {
            body: { role: "CLUSTER_ADMIN" },
            headers: solo.admin.auth,
          }),
        ),
      );
      expect(both.map((r) => r.status).sort()).to.deep.equal([200, 409]);
      expect(await db("users").where({ org_id: solo.orgId, role: "ORG_ADMIN" })).to.have.length(1);
    });

    it("removes a user: their session and API token stop working at once", async () => {
      const user = await createUserWithRole(api, org, "CLUSTER_ADMIN");
      const token = await post<{ token: string }>(
        `/v1/orgs/${org.orgId}/tokens`,
        { name: "ci", scopes: ["clusters:read"] },
        user.auth,
      );
      expect(token.status).to.equal(201);
      const tokenAuth = { authorization: `Bearer ${token.body.token}` };
      // Both credentials are verified (and cached) before the removal.
      expect((await api.get(`/v1/orgs/${org.orgId}/clusters`, user.auth)).status).to.equal(200);
      expect((await api.get(`/v1/orgs/${org.orgId}/clusters`, tokenAuth)).status).to.equal(200);
      const removed = await del<{ id: string }>(`/v1/orgs/${org.orgId}/users/${user.userId}`);
      expect(removed.status).to.equal(200);
      expect((await api.get(`/v1/orgs/${org.orgId}/clusters`, user.auth)).status).to.equal(401);
      expect((await api.get(`/v1/orgs/${org.orgId}/clusters`, tokenAuth)).status).to.equal(401);
      const refresh = await post<ErrorBody>("/v1/auth/refresh", { refreshToken: user.refreshToken }, {});
      expect(refresh.status).to.equal(401);
      const [audit] = await auditOf("user.delete", user.userId);
      expect(audit.data_json).to.include({ email: user.email, role: "CLUSTER_ADMIN", apiKeysDeleted: 1 });
      expect(await del(`/v1/orgs/${org.orgId}/users/${user.userId}`)).to.have.property("status", 404);
    });

    it("lets only ORG_ADMIN change roles and remove users", async () => {
      const target = await createUserWithRole(api, org, "VIEWER");
      for (const caller of [viewer, appAdmin]) {
        const res = await patch<ErrorBody>(
          `/v1/orgs/${org.orgId}/users/${target.userId}`,
          { role: "ORG_ADMIN" },
          caller.auth,
        );
        expect(res.status).to.equal(403);
        expect((await del(`/v1/orgs/${org.orgId}/users/${target.userId}`, caller.auth)).status).to.equal(403);
      }
      const bad = await patch<ErrorBody>(`/v1/orgs/${org.orgId}/users/${target.userId}`, { role: "ROOT" });
      expect(bad.status).to.equal(400);
      expect((await patch(`/v1/orgs/${org.orgId}/users/${randomUUID()}`, { role: "VIEWER" })).status).to.equal(404);
    });
  });

  describe("own password", () => {
    it("changes the password with the current one; other sessions end, this one stays", async () => {
      const email = `${uniqueName("pw")}@example.test`;
      await post(`/v1/orgs/${org.orgId}/users`, { email, password: TEST_PASSWORD, role: "VIEWER" });
      const here = await loginAs(api, email, org.orgId);
      const elsewhere = await loginAs(api, email, org.orgId);
      expect((await api.get("/v1/auth/me", elsewhere.auth)).status).to.equal(200);
      const newPassword = "a much longer new passphrase";
      const res = await post<{ sessionsRevoked: number }>(
        "/v1/auth/password",
        { currentPassword: TEST_PASSWORD, newPassword },
        here.auth,
      );
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      expect(res.body.sessionsRevoked).to.equal(1);
      expect((await api.get("/v1/auth/me", here.auth)).status).to.equal(200);
      expect((await api.get("/v1/auth/me", elsewhere.auth)).status).to.equal(401);
      expect((await post("/v1/auth/refresh", { refreshToken: elsewhere.refreshToken }, {})).status).to.equal(401);
      expect((await post("/v1/auth/login", { email, password: TEST_PASSWORD, orgId: org.orgId }, {})).status).to.equal(
        401,
      );
      await loginAs(api, email, org.orgId, newPassword);
      const [audit] = await auditOf("user.password_change", here.userId);
      expect(audit.data_json).to.deep.equal({ sessionsRevoked: 1 });
      expect(JSON.stringify(audit)).to.not.contain(newPassword);
    });

    it("refuses a wrong current password (403), a weak one (422), an API token (403); throttles guesses (429)", async () => {
      const email = `${uniqueName("pw")}@example.test`;
      await post(`/v1/orgs/${org.orgId}/users`, { email, password: TEST_PASSWORD, role: "APP_ADMIN" });
      const user = await loginAs(api, email, org.orgId);
      const weak = await post<ErrorBody>(
        "/v1/auth/password",
        { currentPassword: TEST_PASSWORD, newPassword: "short" },
        user.auth,
      );
      expect(weak.status).to.equal(422);
      expect(weak.body.error.code).to.equal("WEAK_PASSWORD");
      const token = await post<{ token: string }>(
        `/v1/orgs/${org.orgId}/tokens`,
        { name: "t", scopes: ["stacks:read"] },
        user.auth,
      );
      const viaToken = await post<ErrorBody>(
        "/v1/auth/password",
        { currentPassword: TEST_PASSWORD, newPassword: "another long passphrase" },
        { authorization: `Bearer ${token.body.token}` },
      );
      expect(viaToken.status).to.equal(403);
      expect(viaToken.body.error.code).to.equal("SESSION_REQUIRED");
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const wrong = await post<ErrorBody>(
          "/v1/auth/password",
          { currentPassword: `wrong guess ${i}`, newPassword: "another long passphrase" },
          user.auth,
        );
        statuses.push(wrong.status);
        if (wrong.status === 403) expect(wrong.body.error.code).to.equal("CURRENT_PASSWORD_INCORRECT");
      }
      expect(statuses.slice(0, 5)).to.deep.equal([403, 403, 403, 403, 403]);
      expect(statuses.at(-1)).to.equal(429);
      // Locked: even the right password waits, like a login.
      const locked = await post<ErrorBody>(
        "/v1/auth/password",
        { currentPassword: TEST_PASSWORD, newPassword: "another long passphrase" },
        user.auth,
      );
      expect(locked.status).to.equal(429);
      const [row] = await db("users").where({ id: user.userId });
      expect(row.password_hash).to.match(/^\$argon2id\$/);
      expect((await auditOf("user.password_change_failed", user.userId)).length).to.be.at.least(5);
    });
  });
});

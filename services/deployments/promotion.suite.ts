/**
 * Promotion and approvals at service level: real gateway, Postgres, NATS/JetStream, worker and event writer; the
 * agent is the scripted stand-in. staging (pipeline 1) → prod (pipeline 2, approval by an APP_ADMIN). Run inside
 * deployments.int.spec.ts on its control plane (one platform start less in `make test`), with its own org and agent.
 */
import { expect } from "chai";
import type { Db } from "../_shared/db.js";
import { startFakeAgent, type FakeAgent } from "../_shared/testing/fake-agent.js";
import {
  createOrgWithAdmin,
  createUserWithRole,
  uniqueName,
  type TestOrg,
  type TestUser,
} from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import type { CommandEnvelope, DeployStack } from "../../nats/protocol/messages.js";
import { sleep, until } from "../_shared/testing/wait.js";

interface Deployment {
  id: string;
  status: string;
  releaseId: string;
  promotedFrom: string | null;
  approval: { decision: string; by: string | null; comment: string } | null;
  errorCode: string | null;
}
interface Failure {
  error: { code: string };
}

/** The control plane the suite runs on: started by the enclosing suite. */
export interface SuitePlatform {
  api: ContractClient;
  db: Db;
  natsUrl: string;
}

export function promotionAndApprovals(platform: () => SuitePlatform): void {
  describe("promotion and approvals (real gateway, Postgres, JetStream; scripted agent)", function () {
    this.timeout(60_000);
    let db: Db;
    let api: ContractClient;
    let org: TestOrg;
    let requester: TestUser;
    let approver: TestUser;
    let viewer: TestUser;
    let clusterAdmin: TestUser;
    let agent: FakeAgent;
    let stackId: string;
    let staging: string;
    let prod: string;
    let release1: string;
    let release2: string;
    let stagingDeployment: string;

    const deployCommands = (deploymentId: string) =>
      agent.received.filter(
        (c) => c.type === "DeployStack" && (c.payload as { deploymentId: string }).deploymentId === deploymentId,
      );
    const get = async (id: string) => (await api.get<Deployment>(`/v1/deployments/${id}`, org.admin.auth)).body;
    const waitStatus = (id: string, status: string) =>
      until(`deployment ${id} ${status}`, async () => ((await get(id)).status === status ? true : undefined));
    const decide = (id: string, who: TestUser, decision: "approve" | "reject", comment = "") =>
      api.request<Deployment & Failure>("POST", `/v1/deployments/${id}/approval`, {
        body: { decision, comment },
        headers: who.auth,
      });
    const patchEnv = (id: string, body: Record<string, unknown>) =>
      api.request<{ pipelinePosition: number | null } & Failure>("PATCH", `/v1/environments/${id}`, {
        body,
        headers: org.admin.auth,
      });
    const auditActions = async (deploymentId: string) =>
      (
        await db("audit_events")
          .where({ target_id: deploymentId })
          .select<Array<{ action: string; data_json: Record<string, unknown> }>>("action", "data_json")
      ).map((r) => r.action);

    before(async () => {
      ({ db, api } = platform());
      org = await createOrgWithAdmin(api);
      [requester, approver, viewer, clusterAdmin] = await Promise.all([
        createUserWithRole(api, org, "APP_ADMIN"),
        createUserWithRole(api, org, "APP_ADMIN"),
        createUserWithRole(api, org, "VIEWER"),
        createUserWithRole(api, org, "CLUSTER_ADMIN"),
      ]);
      agent = await startFakeAgent(api, platform().natsUrl, { orgId: org.orgId, auth: org.admin.auth }, "promo");
      agent.handlers.set("DeployStack", (command: CommandEnvelope) => {
        const p = command.payload as unknown as DeployStack;
        setTimeout(() => void agent.emit(p.deploymentId, p.firstSeq, "converged", { outcome: "succeeded" }), 30);
        return { deploymentId: p.deploymentId, status: "started" };
      });
      const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
        body: { name: uniqueName("promo").replace(/[^a-z0-9-]/g, "") },
        headers: org.admin.auth,
      });
      stackId = stack.body.id;
      const mkEnv = async (name: string) =>
        (
          await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/environments`, {
            body: { name, clusterId: agent.clusterId },
            headers: org.admin.auth,
          })
        ).body.id;
      staging = await mkEnv("staging");
      prod = await mkEnv("prod");
      const mkRelease = async (tag: string) =>
        (
          await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/releases`, {
            body: { sourceType: "upload", composeYaml: `services:\n  app:\n    image: nginx:${tag}\n` },
            headers: org.admin.auth,
          })
        ).body.id;
      release1 = await mkRelease("1.25");
      release2 = await mkRelease("1.27"); // the newest release: a promotion must not pick it
      // prod's own overlay: a promotion renders the source's release with it.
      const overlay = await api.request("PUT", `/v1/environments/${prod}/overlay`, {
        body: { envJson: { global: { TIER: "production" } }, composePatchYaml: "" },
        headers: org.admin.auth,
      });
      expect(overlay.status).to.equal(200);
      const first = await api.request<Deployment>("POST", `/v1/environments/${staging}/deployments`, {
        body: { releaseId: release1 },
        headers: requester.auth,
      });
      expect(first.body.status).to.equal("PENDING");
      stagingDeployment = first.body.id;
      await waitStatus(stagingDeployment, "SUCCEEDED");
    });
    after(async () => {
      await agent?.close();
    });

    it("orders environments into a pipeline and sets prod's approval policy (positions unique per stack)", async () => {
      expect((await patchEnv(staging, { pipelinePosition: 1 })).status).to.equal(200);
      const clash = await patchEnv(prod, { pipelinePosition: 1 });
      expect(clash.status).to.equal(409);
      expect(clash.body.error.code).to.equal("PIPELINE_POSITION_TAKEN");
      const set = await patchEnv(prod, { pipelinePosition: 2, approval: { required: true, role: "APP_ADMIN" } });
      expect(set.status).to.equal(200);
      expect(set.body).to.include({ pipelinePosition: 2 });
      const byViewer = await api.request<Failure>("PATCH", `/v1/environments/${prod}`, {
        body: { approval: { required: false, role: "APP_ADMIN" } },
        headers: viewer.auth,
      });
      expect(byViewer.status).to.equal(403);
      const stack = await api.get<{ environments: Array<{ name: string; pipelinePosition: number | null }> }>(
        `/v1/orgs/${org.orgId}/stacks/${stackId}`,
        org.admin.auth,
      );
      expect(stack.body.environments.map((e) => [e.name, e.pipelinePosition])).to.deep.include.members([
        ["staging", 1],
        ["prod", 2],
      ]);
    });

    it("a promotion to prod waits AWAITING_APPROVAL, reaches no agent, and only another APP_ADMIN may approve it", async () => {
      // What staging's agent recorded as running: the promotion must deploy exactly that, not the moved tag.
      const digest = `nginx:1.25@sha256:${"c".repeat(64)}`;
      await db("deployments")
        .where({ id: stagingDeployment })
        .update({ images: JSON.stringify([{ service: "app", image: "nginx:1.25", pinned: digest, kind: "digest" }]) });
      const promoted = await api.request<Deployment>("POST", `/v1/environments/${staging}/promote`, {
        headers: requester.auth,
      });
      expect(promoted.status).to.equal(202);
      expect(promoted.body).to.include({
        status: "AWAITING_APPROVAL",
        releaseId: release1,
        promotedFrom: stagingDeployment,
      });
      const id = promoted.body.id;
      expect(promoted.body.releaseId).not.to.equal(release2);

      const pending = await api.get<{ items: Array<{ deploymentId: string; canDecide: boolean }> }>(
        `/v1/orgs/${org.orgId}/approvals`,
        requester.auth,
      );
      expect(pending.body.items.find((i) => i.deploymentId === id)).to.include({ canDecide: false });
      const forApprover = await api.get<{ items: Array<{ deploymentId: string; canDecide: boolean }> }>(
        `/v1/orgs/${org.orgId}/approvals`,
        approver.auth,
      );
      expect(forApprover.body.items.find((i) => i.deploymentId === id)).to.include({ canDecide: true });

      const self = await decide(id, requester, "approve");
      expect(self.status).to.equal(403);
      expect(self.body.error.code).to.equal("APPROVAL_BY_REQUESTER");
      const byViewer = await decide(id, viewer, "approve");
      expect(byViewer.status).to.equal(403);
      const byClusterAdmin = await decide(id, clusterAdmin, "approve");
      expect(byClusterAdmin.status).to.equal(403);
      expect(byClusterAdmin.body.error.code).to.equal("APPROVAL_ROLE_REQUIRED");
      const other = await createOrgWithAdmin(api);
      const crossOrg = await decide(id, other.admin, "approve");
      expect(crossOrg.status).to.equal(404);

      await sleep(1_000); // the worker had every chance to pick it up
      expect(deployCommands(id)).to.have.length(0);
      expect((await get(id)).status).to.equal("AWAITING_APPROVAL");

      // Two approvals at once: the row lock lets exactly one decide.
      const [a, b] = await Promise.all([decide(id, approver, "approve", "LGTM"), decide(id, org.admin, "approve")]);
      expect([a.status, b.status].sort()).to.deep.equal([200, 409]);
      expect([a, b].find((r) => r.status === 409)!.body.error.code).to.equal("APPROVAL_NOT_PENDING");

      await waitStatus(id, "SUCCEEDED");
      const [command] = deployCommands(id);
      expect(command, "a DeployStack for the promotion").to.not.equal(undefined);
      const payload = command!.payload as unknown as DeployStack;
      expect(payload.labels["io.stackyard.release"]).to.equal(release1);
      expect(payload.composeYaml).to.contain(digest);
      expect(JSON.stringify(payload)).to.contain("production");
      const done = await get(id);
      expect(done.approval).to.include({ decision: "approved" });
      expect(await auditActions(id)).to.include.members(["deployment.promote", "deployment.approve"]);
    });

    it("a rejected deployment ends REJECTED with the comment and is never sent; a second decision is refused", async () => {
      const res = await api.request<Deployment>("POST", `/v1/environments/${prod}/deployments`, {
        body: { releaseId: release2 },
        headers: requester.auth,
      });
      expect(res.body.status).to.equal("AWAITING_APPROVAL");
      const rejected = await decide(res.body.id, approver, "reject", "not during the freeze");
      expect(rejected.status).to.equal(200);
      expect(rejected.body).to.include({ status: "REJECTED", errorCode: "APPROVAL_REJECTED" });
      expect(rejected.body.approval).to.include({ decision: "rejected", comment: "not during the freeze" });
      const again = await decide(res.body.id, org.admin, "approve");
      expect(again.status).to.equal(409);
      await sleep(500);
      expect(deployCommands(res.body.id)).to.have.length(0);
      expect(await auditActions(res.body.id)).to.include.members(["deployment.create", "deployment.reject"]);
    });

    it("a deployment asked for with the requester's API token cannot be approved by the same user's session", async () => {
      const token = await api.request<{ token: string }>("POST", `/v1/orgs/${org.orgId}/tokens`, {
        body: { name: "ci", scopes: ["deployments:read", "deployments:write"] },
        headers: requester.auth,
      });
      expect(token.status).to.equal(201);
      const viaToken = await api.request<Deployment>("POST", `/v1/environments/${prod}/deployments`, {
        body: { releaseId: release1 },
        headers: { authorization: `Bearer ${token.body.token}` },
      });
      expect(viaToken.body.status).to.equal("AWAITING_APPROVAL");
      const self = await decide(viaToken.body.id, requester, "approve");
      expect(self.status).to.equal(403);
      expect(self.body.error.code).to.equal("APPROVAL_BY_REQUESTER");
      expect((await decide(viaToken.body.id, approver, "reject", "cleanup")).status).to.equal(200);
    });

    it("a deployment awaiting approval can be canceled; promotion without a successful source is refused", async () => {
      const res = await api.request<Deployment>("POST", `/v1/environments/${prod}/deployments`, {
        body: { releaseId: release2 },
        headers: requester.auth,
      });
      const canceled = await api.request<Deployment>("POST", `/v1/deployments/${res.body.id}/cancel`, {
        headers: requester.auth,
      });
      expect(canceled.body.status).to.equal("CANCELED");
      const fromProdEnd = await api.request<Failure>("POST", `/v1/environments/${prod}/promote`, {
        headers: requester.auth,
      });
      expect(fromProdEnd.status).to.equal(409);
      expect(fromProdEnd.body.error.code).to.equal("NO_NEXT_ENVIRONMENT");
      const nothing = await api.request<Failure>("POST", `/v1/environments/${prod}/promote`, {
        body: { targetEnvironmentId: prod },
        headers: requester.auth,
      });
      expect(nothing.status).to.equal(422);
      expect(nothing.body.error.code).to.equal("PROMOTION_TO_ITSELF");
    });
  });
}

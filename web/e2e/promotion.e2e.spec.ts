/**
 * Promotion with approval in a real browser (Chromium) against the real control plane (gateway, Postgres, NATS,
 * worker); the agent is the scripted stand-in, so nothing touches the Swarm. staging → prod, prod requires an
 * APP_ADMIN's approval: the requester promotes from the stack page and cannot approve; another APP_ADMIN approves
 * on the deployment page and the agent then receives the release that runs in staging.
 */
import { expect } from "chai";
import type { Page } from "playwright-core";
import type { Db } from "../../services/_shared/db.js";
import { createTestDb } from "../../services/_shared/testing/database.js";
import { startFakeAgent, type FakeAgent } from "../../services/_shared/testing/fake-agent.js";
import {
  createOrgWithAdmin,
  createUserWithRole,
  TEST_PASSWORD,
  uniqueName,
  type TestOrg,
  type TestUser,
} from "../../services/_shared/testing/fixtures.js";
import { ContractClient } from "../../services/_shared/testing/http.js";
import { startTestNatsServer, type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { startTestPlatform, type TestPlatform } from "../../services/_shared/testing/platform.js";
import { until } from "../../services/_shared/testing/wait.js";
import type { CommandEnvelope, DeployStack } from "../../nats/protocol/messages.js";
import { buildWeb, openBrowser, screenshotFailure, type BrowserSession, type BuiltWeb } from "./harness.js";
import { LoginPage } from "./pages/LoginPage.js";

describe("promotion with approval in a real browser (real control plane; scripted agent)", function () {
  this.timeout(120_000);
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let requester: TestUser;
  let approver: TestUser;
  let agent: FakeAgent;
  let built: BuiltWeb | undefined;
  let session: BrowserSession | undefined;
  let page: Page;
  let stackId = "";
  let release1 = "";
  let prod = "";

  const deployCommands = () => agent.received.filter((c) => c.type === "DeployStack");

  before(async function () {
    this.timeout(240_000);
    [built, db, nats] = await Promise.all([buildWeb(), createTestDb(), startTestNatsServer()]);
    platform = await startTestPlatform(nats, { WEB_DIST_DIR: built.distDir });
    api = new ContractClient(platform.baseUrl);
    org = await createOrgWithAdmin(api);
    [requester, approver] = await Promise.all([
      createUserWithRole(api, org, "APP_ADMIN"),
      createUserWithRole(api, org, "APP_ADMIN"),
    ]);
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "fake");
    agent.handlers.set("DeployStack", (command: CommandEnvelope) => {
      const p = command.payload as unknown as DeployStack;
      setTimeout(() => void agent.emit(p.deploymentId, p.firstSeq, "converged", { outcome: "succeeded" }), 30);
      return { deploymentId: p.deploymentId, status: "started" };
    });
    const auth = org.admin.auth;
    stackId = (
      await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
        body: { name: uniqueName("ep").replace(/[^a-z0-9-]/g, "") },
        headers: auth,
      })
    ).body.id;
    const mkEnv = async (name: string, patch: Record<string, unknown>) => {
      const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/environments`, {
        body: { name, clusterId: agent.clusterId },
        headers: auth,
      });
      expect(
        (await api.request("PATCH", `/v1/environments/${env.body.id}`, { body: patch, headers: auth })).status,
      ).to.equal(200);
      return env.body.id;
    };
    const staging = await mkEnv("staging", { pipelinePosition: 1 });
    prod = await mkEnv("prod", { pipelinePosition: 2, approval: { required: true, role: "APP_ADMIN" } });
    const mkRelease = async (tag: string) =>
      (
        await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/releases`, {
          body: { sourceType: "upload", composeYaml: `services:\n  app:\n    image: nginx:${tag}\n` },
          headers: auth,
        })
      ).body.id;
    release1 = await mkRelease("1.25");
    await mkRelease("1.27"); // newer than what staging runs: the promotion must not take it
    const first = await api.request<{ id: string }>("POST", `/v1/environments/${staging}/deployments`, {
      body: { releaseId: release1 },
      headers: auth,
    });
    await until("staging deployed", async () =>
      (await api.get<{ status: string }>(`/v1/deployments/${first.body.id}`, auth)).body.status === "SUCCEEDED"
        ? true
        : undefined,
    );
    session = await openBrowser({ defaultTimeoutMs: 15_000 });
    page = session.page;
  });
  afterEach(async function () {
    await screenshotFailure(this.currentTest, page, "promotion");
  });
  after(async () => {
    await session?.close();
    await agent?.close();
    await platform?.stop();
    await nats?.stop();
    await db?.destroy();
    await built?.remove();
  });

  let deploymentUrl = "";

  it("the requester promotes staging to prod from the stack page; it waits and they cannot approve it", async () => {
    const login = new LoginPage(page, platform.baseUrl);
    await login.goto("/");
    await login.login(requester.email, TEST_PASSWORD);
    await page.goto(`${platform.baseUrl}/orgs/${org.orgId}/stacks/${stackId}`);
    const pipeline = page.getByRole("region", { name: "Promotion pipeline" });
    const stagingStage = pipeline.getByRole("listitem", { name: "Pipeline stage staging" });
    expect(await stagingStage.textContent()).to.contain("runs v1");
    expect(await pipeline.getByRole("listitem", { name: "Pipeline stage prod" }).textContent()).to.contain(
      "approval by APP_ADMIN",
    );
    await stagingStage.getByRole("button", { name: "Promote to prod" }).click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.textContent()).to.contain("waits for an approval");
    await dialog.getByRole("button", { name: "Promote to prod" }).click();
    await page.waitForURL(/\/deployments\//);
    deploymentUrl = page.url();
    const approval = page.getByRole("region", { name: "Approval" });
    await approval.waitFor();
    expect(await page.getByRole("heading", { level: 1 }).textContent()).to.contain("AWAITING_APPROVAL");
    const approve = approval.getByRole("button", { name: "Approve" });
    expect(await approve.isDisabled()).to.equal(true);
    expect(await approval.textContent()).to.contain("You requested this deployment");
    expect(
      deployCommands().filter((c) => (c.payload as unknown as DeployStack).labels["io.stackyard.environment"] === prod),
    ).to.have.length(0);
  });

  it("another APP_ADMIN sees it pending, approves it with a comment, and prod gets staging's release", async () => {
    // A second browser context: another user's own session, as on another machine.
    const other = await session!.browser.newContext({ viewport: { width: 1280, height: 860 } });
    other.setDefaultTimeout(15_000);
    page = await other.newPage();
    const login = new LoginPage(page, platform.baseUrl);
    await login.goto("/");
    await login.login(approver.email, TEST_PASSWORD);
    await page.getByRole("link", { name: "1 pending approvals" }).click();
    await page.getByRole("link", { name: /Promotion of v1/ }).click();
    expect(page.url()).to.equal(deploymentUrl);
    const approval = page.getByRole("region", { name: "Approval" });
    await approval.getByLabel("Approval comment").fill("staging looked good");
    await approval.getByRole("button", { name: "Approve" }).click();
    await page.getByRole("note", { name: "Approval" }).waitFor();
    expect(await page.getByRole("note", { name: "Approval" }).textContent()).to.contain("staging looked good");
    await until("the prod deployment SUCCEEDED on the page", async () =>
      ((await page.getByRole("heading", { level: 1 }).textContent()) ?? "").includes("SUCCEEDED") ? true : undefined,
    );
    const toProd = deployCommands().filter(
      (c) => (c.payload as unknown as DeployStack).labels["io.stackyard.environment"] === prod,
    );
    expect(toProd).to.have.length(1);
    expect((toProd[0]!.payload as unknown as DeployStack).labels["io.stackyard.release"]).to.equal(release1);
  });
});

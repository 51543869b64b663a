/**
 * Live updates in Chromium against the real control plane: the header says "Live" once the page's nats.ws link
 * through the gateway's `/v1/live` is up, and a release created elsewhere (the API, as another tool would) appears
 * on the open stack page without a reload — the releases list is never polled, so only the bus can bring it.
 */
import { expect } from "chai";
import type { Page } from "playwright-core";
import type { Db } from "../../services/_shared/db.js";
import { createTestDb } from "../../services/_shared/testing/database.js";
import {
  createOrgWithAdmin,
  TEST_PASSWORD,
  uniqueName,
  type TestOrg,
} from "../../services/_shared/testing/fixtures.js";
import { ContractClient } from "../../services/_shared/testing/http.js";
import { startTestNatsServer, type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { startTestPlatform, type TestPlatform } from "../../services/_shared/testing/platform.js";
import { buildWeb, openBrowser, screenshotFailure, type BrowserSession, type BuiltWeb } from "./harness.js";
import { LoginPage } from "./pages/LoginPage.js";
import { ClustersPage } from "./pages/ClustersPage.js";
import { startFakeAgent, type FakeAgent } from "../../services/_shared/testing/fake-agent.js";
import { agentSubjects } from "../../nats/protocol/subjects.js";
import { EXAMPLE_MESSAGES } from "../../nats/protocol/examples.js";
import { StacksPage } from "./pages/StacksPages.js";

describe("live updates in a real browser (nats.ws through the gateway)", function () {
  this.timeout(120_000);
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let built: BuiltWeb | undefined;
  let session: BrowserSession | undefined;
  let page: Page;
  let org: TestOrg;
  let api: ContractClient;
  const agents: FakeAgent[] = [];

  before(async () => {
    built = await buildWeb();
    db = await createTestDb();
    nats = await startTestNatsServer();
    platform = await startTestPlatform(nats, { WEB_DIST_DIR: built.distDir });
    api = new ContractClient(platform.baseUrl);
    org = await createOrgWithAdmin(api, uniqueName("live"));
    session = await openBrowser();
    page = session.page;
  });
  afterEach(async function () {
    await screenshotFailure(this.currentTest, page, "live");
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await session?.close();
    await platform?.stop();
    await nats?.stop();
    await db?.destroy();
    await built?.remove();
  });

  it("says Live in the header once the link is up", async () => {
    const login = new LoginPage(page, platform.baseUrl);
    await login.goto("/");
    await login.submit(org.admin.email, TEST_PASSWORD);
    await page.waitForURL(`**/orgs/${org.orgId}/clusters`);
    await page.locator('[data-live="live"]').waitFor({ timeout: 10_000 });
    expect(await page.locator("[data-live]").innerText()).to.equal("Live");
  });

  it("shows a release created elsewhere on the open stack page, without a reload", async () => {
    const stack = await api.request<{ id: string; name: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("shop").replace(/[^a-z0-9-]/g, "") },
      headers: org.admin.auth,
    });
    await page.goto(`${platform.baseUrl}/orgs/${org.orgId}/stacks/${stack.body.id}`);
    await page.getByRole("heading", { level: 1, name: stack.body.name }).waitFor();
    await page.locator('[data-live="live"]').waitFor({ timeout: 10_000 });
    const stacks = new StacksPage(page);
    expect(await stacks.releaseVersions()).to.deep.equal([]);
    const created = await api.request("POST", `/v1/stacks/${stack.body.id}/releases`, {
      body: { sourceType: "upload", composeYaml: "services:\n  web:\n    image: nginx:1.27\n" },
      headers: org.admin.auth,
    });
    expect(created.status).to.equal(201);
    const started = Date.now();
    await page
      .locator("section", { hasText: "Releases" })
      .locator("tbody tr td:first-child", { hasText: "v1" })
      .waitFor({
        timeout: 5_000,
      });
    console.log(`      release visible ${Date.now() - started} ms after the API answered`);
  });

  it("shows a cluster going offline and a deployment appearing, without a reload (faster than any poll)", async () => {
    const clusterName = uniqueName("edge");
    const agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, clusterName);
    agents.push(agent);
    const enc = new TextEncoder();
    const subjects = agentSubjects(agent.clusterId);
    agent.nc.publish(
      subjects.heartbeat,
      enc.encode(JSON.stringify({ ...EXAMPLE_MESSAGES.Heartbeat, clusterId: agent.clusterId, sentAt: Date.now() })),
    );
    const clusters = new ClustersPage(page);
    await page.goto(`${platform.baseUrl}/orgs/${org.orgId}/clusters`);
    await page.locator('[data-live="live"]').waitFor({ timeout: 10_000 });
    const row = page.getByRole("row").filter({ hasText: clusterName });
    await row.locator(".badge", { hasText: "online" }).first().waitFor({ timeout: 15_000 });
    // The clusters list polls every 10 s: under 3 s, only the bus can have brought the change.
    const goodbyeAt = Date.now();
    agent.nc.publish(
      subjects.goodbye,
      enc.encode(JSON.stringify({ clusterId: agent.clusterId, sentAt: Date.now(), reason: "stopping" })),
    );
    await row.locator(".badge", { hasText: "offline" }).first().waitFor({ timeout: 3_000 });
    console.log(`      cluster shown offline ${Date.now() - goodbyeAt} ms after the agent's goodbye`);
    expect(await clusters.statusOf(clusterName)).to.contain("offline");

    // A deployment created elsewhere appears in the environment's list.
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("api").replace(/[^a-z0-9-]/g, "") },
      headers: org.admin.auth,
    });
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      body: { name: "prod", clusterId: agent.clusterId },
      headers: org.admin.auth,
    });
    const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
      body: { sourceType: "upload", composeYaml: "services:\n  web:\n    image: nginx:1.27\n" },
      headers: org.admin.auth,
    });
    await page.goto(`${platform.baseUrl}/orgs/${org.orgId}/environments/${env.body.id}`);
    await page.locator('[data-live="live"]').waitFor({ timeout: 10_000 });
    await page
      .getByText(/no deployments yet/i)
      .first()
      .waitFor();
    const deployedAt = Date.now();
    const dep = await api.request<{ id: string }>("POST", `/v1/environments/${env.body.id}/deployments`, {
      body: { releaseId: release.body.id },
      headers: org.admin.auth,
    });
    expect(dep.status).to.equal(202);
    await page.locator(`a[href$="/deployments/${dep.body.id}"]`).first().waitFor({ timeout: 5_000 });
    console.log(`      deployment listed ${Date.now() - deployedAt} ms after it was requested`);
  });
});

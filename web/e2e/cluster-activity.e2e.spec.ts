/**
 * The cluster page in Debian's Chromium against the real control plane: an agent (the fake agent, on the real
 * NATS server with its own agent JWT) reports Docker events and a refused command; the page shows the activity
 * feed, updating without a reload, and a security warning that an admin acknowledges.
 */
import { expect } from "chai";
import type { Page } from "playwright-core";
import type { Db } from "../../services/_shared/db.js";
import { createTestDb } from "../../services/_shared/testing/database.js";
import { startFakeAgent, type FakeAgent } from "../../services/_shared/testing/fake-agent.js";
import {
  createOrgWithAdmin,
  TEST_PASSWORD,
  uniqueName,
  type TestOrg,
} from "../../services/_shared/testing/fixtures.js";
import { ContractClient } from "../../services/_shared/testing/http.js";
import { startTestNatsServer, type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { startTestPlatform, type TestPlatform } from "../../services/_shared/testing/platform.js";
import type { CommandRejectionReport, DockerEvent } from "../../nats/protocol/messages.js";
import { agentSubjects } from "../../nats/protocol/subjects.js";
import { buildWeb, openBrowser, screenshotFailure, type BrowserSession, type BuiltWeb } from "./harness.js";
import { ClusterPage } from "./pages/ClusterPage.js";
import { ClustersPage } from "./pages/ClustersPage.js";
import { LoginPage } from "./pages/LoginPage.js";

const enc = new TextEncoder();

describe("cluster page: activity feed and security warnings (real browser, real control plane)", function () {
  this.timeout(120_000);
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let built: BuiltWeb | undefined;
  let session: BrowserSession | undefined;
  let page: Page;
  let org: TestOrg;
  let agent: FakeAgent;
  const clusterName = `feed-${Date.now().toString(36)}`;

  const publish = async (subject: string, message: DockerEvent | CommandRejectionReport) => {
    agent.nc.publish(subject, enc.encode(JSON.stringify(message)));
    await agent.nc.flush();
  };
  const dockerEvent = (over: Partial<DockerEvent>): DockerEvent => ({
    clusterId: agent.clusterId,
    ts: Date.now(),
    type: "service",
    action: "create",
    id: "svc-1",
    name: "shop-prod_web",
    ...over,
  });

  before(async () => {
    built = await buildWeb();
    db = await createTestDb();
    nats = await startTestNatsServer();
    platform = await startTestPlatform(nats, { WEB_DIST_DIR: built.distDir });
    const api = new ContractClient(platform.baseUrl);
    org = await createOrgWithAdmin(api, uniqueName("feed"));
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, clusterName);
    session = await openBrowser();
    page = session.page;
  });

  afterEach(async function () {
    await screenshotFailure(this.currentTest, page, "cluster-activity");
  });

  after(async () => {
    await session?.close();
    await agent?.close();
    await platform?.stop();
    await nats?.stop();
    await db?.destroy();
    await built?.remove();
  });

  it("shows the Docker events the agent reported, and new ones without a reload", async () => {
    const subjects = agentSubjects(agent.clusterId);
    await publish(subjects.dockerEvents, dockerEvent({}));
    await publish(
      subjects.dockerEvents,
      dockerEvent({ type: "task", action: "start", id: "t1", name: "shop-prod_web.1.t1" }),
    );
    const login = new LoginPage(page, platform.baseUrl);
    await login.goto("/");
    await login.login(org.admin.email, TEST_PASSWORD);
    await new ClustersPage(page).open(clusterName);
    const cluster = new ClusterPage(page);
    expect(await cluster.waitForActivity("shop-prod_web.1.t1")).to.match(/task\s+start/);
    expect(await cluster.activityRows().count()).to.equal(2);
    expect(await cluster.warnings().count(), "no warning yet").to.equal(0);

    const url = page.url();
    await publish(
      subjects.dockerEvents,
      dockerEvent({ type: "node", action: "update", id: "node-9", name: "worker-9" }),
    );
    expect(await cluster.waitForActivity("worker-9")).to.match(/node\s+update/);
    expect(page.url()).to.equal(url);
    expect(await cluster.activityRows().first().innerText(), "newest first").to.contain("worker-9");
  });

  it("raises a security warning for a refused command, with its reason, that an admin acknowledges", async () => {
    await publish(agentSubjects(agent.clusterId).rejected, {
      clusterId: agent.clusterId,
      ts: Date.now(),
      subject: `cmd.${agent.clusterId}.DeployStack`,
      commandId: "4f0c2b8e-3d1a-4e5f-9a6b-7c8d9e0f1a2b",
      type: "DeployStack",
      code: "BAD_SIGNATURE",
      reason: "the command's signature does not verify",
    });
    const cluster = new ClusterPage(page);
    await cluster.warnings().waitFor({ timeout: 20_000 });
    const text = await cluster.warnings().innerText();
    expect(text).to.contain("Security warning");
    expect(text).to.contain("BAD_SIGNATURE");
    expect(text).to.contain("the command's signature does not verify");
    expect(text).to.contain("command DeployStack");

    await new ClustersPage(page).navigate("Clusters");
    await page.getByRole("row").filter({ hasText: clusterName }).getByText("1 security warning").waitFor();
    await new ClustersPage(page).open(clusterName);
    await cluster.warnings().waitFor();

    await cluster.acknowledge("BAD_SIGNATURE");
    await cluster.warnings().waitFor({ state: "detached" });
    const audit = await db("audit_events").where({
      org_id: org.orgId,
      action: "cluster.security_warning_acknowledged",
    });
    expect(audit).to.have.length(1);
  });
});

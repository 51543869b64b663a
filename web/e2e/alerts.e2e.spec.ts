/**
 * The Alerts page in Debian's Chromium against the real control plane (the evaluator running, a stand-in agent's
 * cluster): a rule fires for a node that is down, the history shows it firing, the org admin acknowledges and
 * silences it from the page (both audited as that user), a viewer sees it without the buttons, and it shows
 * resolved when the node is back.
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
} from "../../services/_shared/testing/fixtures.js";
import { ContractClient } from "../../services/_shared/testing/http.js";
import { startTestNatsServer, type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { startTestPlatform, type TestPlatform } from "../../services/_shared/testing/platform.js";
import { until } from "../../services/_shared/testing/wait.js";
import { buildWeb, openBrowser, screenshotFailure, type BrowserSession, type BuiltWeb } from "./harness.js";
import { AlertsPage } from "./pages/AlertsPage.js";
import { LoginPage } from "./pages/LoginPage.js";
import { Shell } from "./pages/Shell.js";

describe("alerts page (real browser, real control plane, evaluator)", function () {
  this.timeout(120_000);
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let built: BuiltWeb | undefined;
  let session: BrowserSession | undefined;
  let page: Page;
  let org: TestOrg;
  let api: ContractClient;
  let agent: FakeAgent;
  let alertId: string;

  before(async () => {
    built = await buildWeb();
    db = await createTestDb();
    nats = await startTestNatsServer();
    platform = await startTestPlatform(nats, {
      WEB_DIST_DIR: built.distDir,
      ALERT_EVAL_INTERVAL_MS: "200",
      CLUSTER_OFFLINE_AFTER_SECONDS: "3600",
    });
    api = new ContractClient(platform.baseUrl);
    org = await createOrgWithAdmin(api, uniqueName("alerts"));
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "h-alerts-ui");
    await db("clusters").where({ id: agent.clusterId }).update({ status: "online", last_seen_at: db.fn.now() });
    const rule = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/alert-rules`, {
      body: { name: "nodes", kind: "node_down", severity: "critical", clusterId: agent.clusterId },
      headers: org.admin.auth,
    });
    expect(rule.status, JSON.stringify(rule.body)).to.equal(201);
    await db("cluster_nodes").insert({
      org_id: org.orgId,
      cluster_id: agent.clusterId,
      node_id: "w1",
      hostname: "worker-1",
      role: "worker",
      availability: "active",
      status: "down",
    });
    alertId = await until("the alert to fire", async () => {
      const res = await api.get<{ items: Array<{ id: string }> }>(`/v1/orgs/${org.orgId}/alerts`, org.admin.auth);
      return res.body.items[0]?.id;
    });
    session = await openBrowser();
    page = session.page;
  });

  afterEach(async function () {
    await screenshotFailure(this.currentTest, page, "alerts");
  });

  after(async () => {
    await session?.close();
    await agent?.close();
    await platform?.stop();
    await nats?.stop();
    await db?.destroy();
    await built?.remove();
  });

  it("shows the firing alert; the admin acknowledges and silences it, audited; it turns resolved", async () => {
    const login = new LoginPage(page, platform.baseUrl);
    await login.goto("/");
    await login.login(org.admin.email, TEST_PASSWORD);
    const alerts = new AlertsPage(page);
    await alerts.open();
    const row = alerts.alert(alertId);
    await row.waitFor();
    expect(await row.innerText())
      .to.contain("node worker-1 is down")
      .and.contain("firing");
    expect(await alerts.rule("nodes").innerText()).to.contain("Node down");

    await alerts.acknowledge(alertId);
    await row.getByText("acknowledged").waitFor();
    expect(await row.getByRole("button", { name: "Acknowledge" }).count()).to.equal(0);
    await alerts.silence(alertId);
    await row.getByText("silenced").waitFor();

    const audit = await db("audit_events")
      .where({ org_id: org.orgId, target_id: alertId })
      .whereIn("action", ["alert.acknowledge", "alert.silence"])
      .orderBy("ts")
      .select("action", "actor_id");
    expect(audit).to.deep.equal([
      { action: "alert.acknowledge", actor_id: org.admin.userId },
      { action: "alert.silence", actor_id: org.admin.userId },
    ]);

    await db("cluster_nodes").where({ cluster_id: agent.clusterId, node_id: "w1" }).update({ status: "ready" });
    // The page refreshes the history every 5 s.
    await row.and(page.locator('[data-status="resolved"]')).waitFor({ timeout: 20_000 });
  });

  it("shows a viewer the history without acknowledge or silence", async () => {
    const viewer = await createUserWithRole(api, org, "VIEWER");
    await new Shell(page).logout();
    const login = new LoginPage(page, platform.baseUrl);
    await login.goto("/");
    await login.login(viewer.email, TEST_PASSWORD);
    const alerts = new AlertsPage(page);
    await alerts.open();
    const row = alerts.alert(alertId);
    await row.waitFor();
    expect(await row.getByRole("button").count()).to.equal(0);
  });
});

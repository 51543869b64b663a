/**
 * Pinning by hand in Debian's Chromium against the real control plane (the agent is the scripted stand-in: pinning
 * sends it nothing): the environment page pins with a reason, shows the pin, and unpins; the API and the audit log
 * agree with what the page showed.
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
import { buildWeb, openBrowser, screenshotFailure, type BrowserSession, type BuiltWeb } from "./harness.js";
import { EnvironmentPage } from "./pages/EnvironmentPage.js";
import { LoginPage } from "./pages/LoginPage.js";

interface EnvironmentBody {
  id: string;
  sync: { mode: string; pinned: { reason: string; pinnedBy: string | null } | null };
}

describe("pinning an environment in a real browser (real control plane)", function () {
  this.timeout(120_000);
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let built: BuiltWeb | undefined;
  let session: BrowserSession | undefined;
  let agent: FakeAgent | undefined;
  let api: ContractClient;
  let page: Page;
  let org: TestOrg;

  before(async () => {
    built = await buildWeb();
    db = await createTestDb();
    nats = await startTestNatsServer();
    platform = await startTestPlatform(nats, { WEB_DIST_DIR: built.distDir });
    api = new ContractClient(platform.baseUrl);
    org = await createOrgWithAdmin(api, uniqueName("ui-pin"));
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "ui-pin-cluster");
    session = await openBrowser();
    page = session.page;
    const login = new LoginPage(page, platform.baseUrl);
    await login.goto("/");
    await login.login(org.admin.email, TEST_PASSWORD);
  });

  afterEach(async function () {
    await screenshotFailure(this.currentTest, page, "pin");
  });

  after(async () => {
    await session?.close();
    await agent?.close();
    await platform?.stop();
    await nats?.stop();
    await db?.destroy();
    await built?.remove();
  });

  it("pins with a reason, shows the pin, and unpins", async () => {
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("shop").replace(/[^a-z0-9-]/g, "") },
      headers: org.admin.auth,
    });
    expect(stack.status).to.equal(201);
    const env = await api.request<EnvironmentBody>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      body: { name: "prod", clusterId: agent!.clusterId },
      headers: org.admin.auth,
    });
    expect(env.status).to.equal(201);
    const read = async () => (await api.get<EnvironmentBody>(`/v1/environments/${env.body.id}`, org.admin.auth)).body;

    await page.goto(`${platform.baseUrl}/orgs/${org.orgId}/environments/${env.body.id}`);
    const view = new EnvironmentPage(page);
    const shown = await view.pin("incident 42: hold prod where it is");
    expect(shown).to.contain("incident 42: hold prod where it is");
    expect(shown).to.contain(org.admin.email);
    expect((await read()).sync.pinned).to.include({ reason: "incident 42: hold prod where it is" });
    const audit = await db("audit_events").where({ action: "environment.pin", target_id: env.body.id });
    expect(audit).to.have.length(1);

    // A reload shows the pin from the API, not from what the page remembered.
    await page.reload();
    await page.getByTestId("sync-pinned").waitFor();
    await view.unpin(/^Unpin$/);
    expect((await read()).sync.pinned).to.equal(null);
    expect(await page.getByTestId("sync-pinned").count()).to.equal(0);
  });
});

/**
 * Lifecycle in Debian's Chromium against the real control plane (the agent is the scripted stand-in that answers
 * RemoveStack; the real removal on a real Swarm is test/e2e/lifecycle.e2e.spec.ts): the environment delete dialog
 * names the Swarm stack and cluster, waits for the typed name and removes the environment; the account page changes
 * the password, showing a wrong current password's error whole, and ends the user's other sessions.
 */
import { expect } from "chai";
import type { Page } from "playwright-core";
import type { Db } from "../../services/_shared/db.js";
import { createTestDb } from "../../services/_shared/testing/database.js";
import { startFakeAgent, type FakeAgent } from "../../services/_shared/testing/fake-agent.js";
import {
  createOrgWithAdmin,
  loginAs,
  TEST_PASSWORD,
  uniqueName,
  type TestOrg,
} from "../../services/_shared/testing/fixtures.js";
import { ContractClient } from "../../services/_shared/testing/http.js";
import { startTestNatsServer, type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { startTestPlatform, type TestPlatform } from "../../services/_shared/testing/platform.js";
import { buildWeb, openBrowser, screenshotFailure, type BrowserSession, type BuiltWeb } from "./harness.js";
import { AccountPage, DeleteEnvironmentDialog } from "./pages/LifecyclePages.js";
import { LoginPage } from "./pages/LoginPage.js";

describe("lifecycle in a real browser (real control plane)", function () {
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
    org = await createOrgWithAdmin(api, uniqueName("ui-life"));
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "ui-life-cluster");
    agent.handlers.set("RemoveStack", (command) => {
      const { stackName } = command.payload as { stackName: string };
      return {
        stackName,
        removed: { services: [`${stackName}_web`], networks: [`${stackName}_default`], secrets: [], configs: [] },
        leftInPlace: { services: [], networks: [], secrets: [], configs: [] },
      };
    });
    session = await openBrowser();
    page = session.page;
    const login = new LoginPage(page, platform.baseUrl);
    await login.goto("/");
    await login.login(org.admin.email, TEST_PASSWORD);
  });

  afterEach(async function () {
    await screenshotFailure(this.currentTest, page, "lifecycle");
  });

  after(async () => {
    await session?.close();
    await agent?.close();
    await platform?.stop();
    await nats?.stop();
    await db?.destroy();
    await built?.remove();
  });

  it("deletes an environment after the typed confirmation, naming what leaves the cluster", async () => {
    const stack = await api.request<{ id: string; name: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("shop").replace(/[^a-z0-9-]/g, "") },
      headers: org.admin.auth,
    });
    const env = await api.request<{ id: string; swarmStack: string }>(
      "POST",
      `/v1/stacks/${stack.body.id}/environments`,
      { body: { name: "staging", clusterId: agent!.clusterId }, headers: org.admin.auth },
    );
    expect(env.status).to.equal(201);
    await page.goto(`${platform.baseUrl}/orgs/${org.orgId}/environments/${env.body.id}`);
    const dialog = await new DeleteEnvironmentDialog(page).open();
    const text = await dialog.innerText();
    expect(text).to.contain(`removes the Swarm stack ${env.body.swarmStack} from cluster ui-life-cluster`);
    expect(text).to.contain("deployment history");
    const confirm = dialog.getByRole("button", { name: `Remove ${env.body.swarmStack} and delete` });
    expect(await confirm.isDisabled()).to.equal(true);
    await dialog.getByLabel(/Type the environment's name/).fill("stagin");
    expect(await confirm.isDisabled()).to.equal(true);
    await dialog.getByLabel(/Type the environment's name/).fill("staging");
    await confirm.click();
    await page.waitForURL(`**/orgs/${org.orgId}/stacks/${stack.body.id}`);
    await page.getByText("No environments yet.").waitFor();
    const sent = agent!.received.filter((c) => c.type === "RemoveStack");
    expect(sent.map((c) => c.payload)).to.deep.equal([{ stackName: env.body.swarmStack, environmentId: env.body.id }]);
    expect(await db("environments").where({ id: env.body.id })).to.have.length(0);
  });

  it("changes the password: a wrong current one is shown whole, then other sessions end", async () => {
    const other = await loginAs(api, org.admin.email, org.orgId);
    await page.goto(`${platform.baseUrl}/orgs/${org.orgId}/account`);
    const account = new AccountPage(page);
    await account.changePassword("not my password at all", "a brand new long passphrase");
    const alert = await account.form().getByRole("alert").innerText();
    expect(alert).to.contain("the current password is incorrect");
    expect(alert).to.contain("CURRENT_PASSWORD_INCORRECT");
    await account.changePassword(TEST_PASSWORD, "a brand new long passphrase");
    await account.form().getByRole("status").waitFor();
    expect(await account.form().getByRole("status").innerText()).to.contain("2 other session(s) were logged out");
    expect((await api.get("/v1/auth/me", other.auth)).status).to.equal(401);
    // This browser session goes on working.
    await page.getByRole("link", { name: "Stacks" }).click();
    await page.getByRole("heading", { name: "Stacks" }).waitFor();
    await loginAs(api, org.admin.email, org.orgId, "a brand new long passphrase");
  });
});

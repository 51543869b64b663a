/**
 * The stack page's preview environments in Debian's Chromium against the real control plane (the agent is the
 * scripted stand-in; the previews' own deploys are the real-Swarm suite's, test/e2e/previews.e2e.spec.ts): the
 * list shows PR, branch, commit, status, age and URL; the settings form saves; Destroy removes the preview
 * through the agent's RemoveStack and the row turns destroyed.
 */
import { expect } from "chai";
import { rm } from "node:fs/promises";
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
import { createTestGitRepo, type TestGitRepo } from "../../services/stacks/test-fixtures.js";
import { until } from "../../services/_shared/testing/wait.js";
import { buildWeb, openBrowser, screenshotFailure, type BrowserSession, type BuiltWeb } from "./harness.js";
import { LoginPage } from "./pages/LoginPage.js";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

describe("preview environments on the stack page in a real browser (real control plane)", function () {
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
  let repo: TestGitRepo | undefined;
  const removed: string[] = [];

  before(async () => {
    built = await buildWeb();
    db = await createTestDb();
    nats = await startTestNatsServer();
    platform = await startTestPlatform(nats, { WEB_DIST_DIR: built.distDir, GIT_ALLOWED_SCHEMES: "file" });
    api = new ContractClient(platform.baseUrl);
    org = await createOrgWithAdmin(api, uniqueName("ui-prev"));
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "ui-prev-cluster");
    agent.handlers.set("RemoveStack", (command) => {
      const { stackName } = command.payload as { stackName: string };
      removed.push(stackName);
      return {
        stackName,
        removed: { services: [`${stackName}_app`], networks: [`${stackName}_default`], secrets: [], configs: [] },
        leftInPlace: { services: [], networks: [], secrets: [], configs: [] },
      };
    });
    repo = createTestGitRepo("h-previews-ui-repo-");
    mkdirSync(join(repo.work, "deploy"), { recursive: true });
    writeFileSync(join(repo.work, "deploy/compose.yml"), "services:\n  app:\n    image: nginx:1\n");
    repo.git(repo.work, "add", ".");
    repo.git(repo.work, "commit", "--quiet", "-m", "one");
    repo.git(repo.work, "push", "--quiet", repo.bare, "main");
    session = await openBrowser();
    page = session.page;
    const login = new LoginPage(page, platform.baseUrl);
    await login.goto("/");
    await login.login(org.admin.email, TEST_PASSWORD);
  });

  afterEach(async function () {
    await screenshotFailure(this.currentTest, page, "previews");
  });

  after(async () => {
    await session?.close();
    await agent?.close();
    await platform?.stop();
    await nats?.stop();
    await db?.destroy();
    await built?.remove();
    if (repo) await rm(repo.root, { recursive: true, force: true });
  });

  it("lists the previews, saves the settings form, and destroys a preview", async () => {
    const auth = org.admin.auth;
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: "shopui" },
      headers: auth,
    });
    expect(stack.status).to.equal(201);
    const stackId = stack.body.id;
    const tmpl = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/environments`, {
      body: { name: "staging", clusterId: agent!.clusterId },
      headers: auth,
    });
    const pr = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/environments`, {
      body: { name: "pr-7", clusterId: agent!.clusterId },
      headers: auth,
    });
    const source = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/git-sources`, {
      body: { repoUrl: repo!.url, ref: "main", path: "deploy/compose.yml" },
      headers: auth,
    });
    expect(source.status, JSON.stringify(source.body)).to.equal(201);
    const put = await api.request("PUT", `/v1/stacks/${stackId}/preview-settings`, {
      body: { sourceId: source.body.id, templateEnvironmentId: tmpl.body.id, ttlSeconds: 7200 },
      headers: auth,
    });
    expect(put.status, JSON.stringify(put.body)).to.equal(200);
    // The rows a webhook would have made (the real-Swarm suite makes them through webhooks).
    await db("previews").insert([
      {
        org_id: org.orgId,
        stack_id: stackId,
        environment_id: pr.body.id,
        pr_number: 7,
        title: "Add the basket",
        branch: "feature/basket",
        head_commit: "a".repeat(40),
        status: "running",
        url: "http://127.0.0.1:24567",
      },
      {
        org_id: org.orgId,
        stack_id: stackId,
        environment_id: null,
        pr_number: 5,
        title: "Old one",
        branch: "feature/old",
        head_commit: "b".repeat(40),
        status: "destroyed",
        destroyed_at: db.fn.now(),
        destroy_reason: "merged",
      },
    ]);

    await page.goto(`${platform.baseUrl}/orgs/${org.orgId}/stacks/${stackId}`);
    const card = page.locator("section", { has: page.getByRole("heading", { name: "Preview environments" }) });
    const row7 = card.getByTestId("preview-7");
    await row7.waitFor();
    const text = await row7.innerText();
    expect(text).to.include("#7");
    expect(text).to.include("feature/basket");
    expect(text).to.include("a".repeat(12));
    expect(text).to.include("running");
    expect(await row7.getByRole("link", { name: "http://127.0.0.1:24567" }).count()).to.equal(1);
    expect(await card.getByTestId("preview-5").innerText()).to.include("destroyed");
    expect(await card.getByText("1 of 5 live previews of the org").count()).to.equal(1);

    await card.getByRole("button", { name: "Preview settings…" }).click();
    const dialog = page.getByRole("dialog", { name: "Preview settings" });
    await dialog.getByLabel("Idle TTL (minutes)").fill("30");
    await dialog.getByLabel("Secrets copied").fill("api-key");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "detached" });
    const saved = await api.get<{ ttlSeconds: number; copySecrets: string[] }>(
      `/v1/stacks/${stackId}/preview-settings`,
      auth,
    );
    expect(saved.body).to.deep.include({ ttlSeconds: 1800, copySecrets: ["api-key"] });

    await row7.getByRole("button", { name: "Destroy" }).click();
    await page
      .getByRole("dialog", { name: "Destroy preview pr-7?" })
      .getByRole("button", { name: "Destroy preview" })
      .click();
    await until(
      "the row to turn destroyed",
      async () => ((await row7.innerText()).includes("destroyed") ? true : undefined),
      30_000,
      200,
    );
    expect(removed).to.deep.equal(["shopui-pr-7"]);
    const audit = await db("audit_events")
      .whereIn("action", ["preview.destroy_request", "preview.destroy"])
      .select("action");
    expect(audit.map((a: { action: string }) => a.action).sort()).to.deep.equal([
      "preview.destroy",
      "preview.destroy_request",
    ]);
  });
});

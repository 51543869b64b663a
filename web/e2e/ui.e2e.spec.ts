/**
 * The built UI in Debian's Chromium against the real control plane (Postgres, NATS, every service): what a new
 * admin does first — log in, add a cluster, create and revoke an API token, and find it all in the audit log.
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
import { AuditPage } from "./pages/AuditPage.js";
import { ClustersPage } from "./pages/ClustersPage.js";
import { EnvironmentPage } from "./pages/EnvironmentPage.js";
import { LoginPage } from "./pages/LoginPage.js";
import { StacksPage } from "./pages/StacksPages.js";
import { TokensPage } from "./pages/TokensPage.js";

const COMPOSE_V1 = "services:\n  web:\n    image: nginx:1.26\n";
const COMPOSE_V2 =
  "services:\n  web:\n    image: nginx:1.27\n  worker:\n    image: busybox:1.36\n    command: [sleep, infinity]\n";

describe("web UI in a real browser (real control plane)", function () {
  this.timeout(120_000);
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let built: BuiltWeb | undefined;
  let session: BrowserSession | undefined;
  let page: Page;
  let org: TestOrg;
  const clusterName = `edge-${Date.now().toString(36)}`;

  before(async () => {
    built = await buildWeb();
    db = await createTestDb();
    nats = await startTestNatsServer();
    // The gateway serves the build, as in production.
    platform = await startTestPlatform(nats, { WEB_DIST_DIR: built.distDir });
    org = await createOrgWithAdmin(new ContractClient(platform.baseUrl), uniqueName("ui"));
    session = await openBrowser();
    page = session.page;
  });

  afterEach(async function () {
    await screenshotFailure(this.currentTest, page, "ui");
  });

  after(async () => {
    await session?.close();
    await platform?.stop();
    await nats?.stop();
    await db?.destroy();
    await built?.remove();
  });

  it("refuses a wrong password and says so", async () => {
    const login = new LoginPage(page, platform.baseUrl);
    await login.goto("/");
    expect(new URL(page.url()).pathname).to.equal("/login");
    await login.submit(org.admin.email, "not the password");
    expect(await login.alert()).to.contain("Wrong email or password");
  });

  it("logs in and lands on the clusters page of the org", async () => {
    const login = new LoginPage(page, platform.baseUrl);
    await login.submit(org.admin.email, TEST_PASSWORD);
    await page.waitForURL(`**/orgs/${org.orgId}/clusters`);
    await page.getByText("No clusters yet.").waitFor();
  });

  it("adds a cluster and shows its one-time registration token and agent command", async () => {
    const clusters = new ClustersPage(page);
    const name = clusterName;
    const shown = await clusters.addCluster(name);
    expect(shown.registrationToken).to.match(/^syr_[A-Za-z0-9_-]{20,}$/);
    expect(shown.fromSource).to.contain(`export STACKYARD_AGENT_TOKEN=${shown.registrationToken}`);
    expect(shown.docker).to.contain("-e STACKYARD_AGENT_TOKEN ");
    expect(shown.fromSource + shown.docker).not.to.contain("--token");
    await clusters.closeDialog();
    expect(await clusters.statusOf(name)).to.equal("pending");
    await clusters.open(name);
    await page.getByText("No agent has registered yet").waitFor();
  });

  it("keeps the session across a reload (refresh token rotation)", async () => {
    const url = page.url();
    await page.reload();
    await page.getByRole("heading", { name: "Facts" }).waitFor();
    expect(page.url()).to.equal(url);
  });

  it("creates a stack, uploads two releases and an environment on the cluster", async () => {
    const stacks = new StacksPage(page);
    await stacks.navigate("Stacks");
    await page.getByText("No stacks yet.").waitFor();
    await stacks.create("shop", "the web shop");
    await stacks.uploadRelease(COMPOSE_V1, "build 1");
    await page.getByText("image: nginx:1.26").waitFor();
    await page.getByRole("link", { name: "← Stack" }).click();
    await stacks.uploadRelease(COMPOSE_V2, "build 2");
    await page.getByRole("link", { name: "← Stack" }).click();
    expect(await stacks.releaseVersions()).to.deep.equal(["v2", "v1"]);
    await stacks.createEnvironment("staging", clusterName);
    await page.getByRole("link", { name: "staging", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "shop / staging" }).waitFor();
    await page.getByText("nothing deployed yet").waitFor();
  });

  it("edits the environment's overlay and secrets (never showing a value)", async () => {
    const env = new EnvironmentPage(page);
    await env.saveOverlay(
      "LOG_LEVEL=debug\n\n[web]\nPORT=8080\n",
      "services:\n  web:\n    deploy:\n      replicas: 3\n",
    );
    await page.reload();
    expect(await page.getByLabel("Variables").inputValue()).to.equal("LOG_LEVEL=debug\n\n[web]\nPORT=8080\n");

    await env.addSecret("db_password", "s3cret-value-1", "web");
    expect(await env.waitForSecretVersion("db_password", "v1")).to.equal("v1");
    await env.rotateSecret("db_password", "s3cret-value-2");
    expect(await env.waitForSecretVersion("db_password", "v2")).to.equal("v2");
    expect(await page.content()).not.to.contain("s3cret-value");
    await env.addSecret("unused", "x", "");
    await env.deleteSecret("unused");
  });

  it("adds a registry credential under the org and attaches it to the environment (never showing the password)", async () => {
    const envUrl = page.url();
    await page.getByRole("link", { name: "Registries" }).click();
    await page.getByRole("heading", { level: 1, name: "Registry credentials" }).waitFor();
    await page.getByRole("button", { name: "Add credential" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Name", { exact: true }).fill("private");
    await dialog.getByLabel(/^Registry/).fill("registry.example.com:5000");
    await dialog.getByLabel("Username").fill("deployer");
    await dialog.getByLabel(/^Password or token/).fill("ui-registry-pa55word");
    await dialog.getByRole("button", { name: "Add credential" }).click();
    await dialog.waitFor({ state: "detached" });
    const row = page.locator('[data-credential="private"]');
    await row.waitFor();
    expect(await row.textContent())
      .to.contain("registry.example.com:5000")
      .and.contain("deployer")
      .and.contain("v1");

    await page.goto(envUrl);
    await page.getByRole("heading", { name: "Registry credentials" }).waitFor();
    await page.getByLabel("Attach").selectOption({ label: "private (registry.example.com:5000)" });
    await page.getByRole("button", { name: "Attach", exact: true }).click();
    await page.locator('[data-registry="registry.example.com:5000"]').waitFor();
    await page.reload();
    await page.locator('[data-registry="registry.example.com:5000"]').waitFor();
    expect(await page.content()).not.to.contain("ui-registry-pa55word");
  });

  it("shows the diff of the newest release against what is deployed, services and unified", async () => {
    const env = new EnvironmentPage(page);
    await env.compareWith(2);
    const changes = await env.serviceChanges();
    expect(changes.join("\n")).to.contain("added").and.to.contain("web").and.to.contain("worker");
    const lines = await env.diffLines();
    expect(lines.some((l) => l.kind === "add" && l.text.includes("nginx:1.27"))).to.equal(true);
    expect(lines.some((l) => l.kind === "add" && /LOG_LEVEL: "?debug/.test(l.text))).to.equal(true);

    await page.getByRole("form", { name: "Compare" }).getByLabel("From").selectOption({ label: "v1" });
    await page.waitForURL((u) => u.searchParams.get("from") !== "current");
    await page.getByText("nginx:1.26 → nginx:1.27").waitFor();
    const fromV1 = await env.diffLines();
    expect(fromV1.some((l) => l.kind === "del" && l.text.includes("nginx:1.26"))).to.equal(true);
    await page.reload();
    await page.getByText("nginx:1.26 → nginx:1.27").waitFor();
  });

  it("creates an API token that works against the API, then revokes it", async () => {
    const tokens = new TokensPage(page);
    await tokens.navigate("API tokens");
    const name = `ci-${Date.now().toString(36)}`;
    const token = await tokens.create(name, ["clusters:read"]);
    expect(token).to.match(/^stk_[A-Za-z0-9]+_[A-Za-z0-9_-]+$/);
    expect(await tokens.statusOf(name)).to.equal("active");

    const asToken = { authorization: `Bearer ${token}` };
    const allowed = await fetch(`${platform.baseUrl}/v1/orgs/${org.orgId}/clusters`, { headers: asToken });
    expect(allowed.status).to.equal(200);

    await tokens.revoke(name);
    await page.locator(`tr[data-token="${name}"] .badge`, { hasText: "revoked" }).waitFor();
    const refused = await fetch(`${platform.baseUrl}/v1/orgs/${org.orgId}/clusters`, { headers: asToken });
    expect(refused.status).to.equal(401);
  });

  it("finds those actions in the audit log, filtered by action and bookmarkable", async () => {
    const audit = new AuditPage(page);
    await audit.navigate("Audit");
    const all = await audit.actions();
    expect(all).to.include.members([
      "auth.login",
      "auth.login_failed",
      "cluster.create",
      "token.create",
      "token.revoke",
    ]);
    expect(all).to.include.members(["stack.create", "release.create", "environment.create", "overlay.update"]);
    expect(all.indexOf("token.revoke")).to.be.lessThan(all.indexOf("token.create"), "newest first");

    await audit.filterByAction("token.*");
    expect(await audit.actionsOnceEqual(["token.revoke", "token.create"])).to.deep.equal([
      "token.revoke",
      "token.create",
    ]);
    await page.reload();
    expect(await audit.actionsOnceEqual(["token.revoke", "token.create"])).to.deep.equal([
      "token.revoke",
      "token.create",
    ]);
  });

  it("logs out and a bookmarked page asks for a login, then returns to it", async () => {
    const audit = new AuditPage(page);
    const bookmarked = new URL(page.url());
    await audit.logout();
    await page.goto(bookmarked.toString());
    const login = new LoginPage(page, platform.baseUrl);
    await page.getByRole("form", { name: "Log in" }).waitFor();
    await login.login(org.admin.email, TEST_PASSWORD);
    await page.waitForURL((u) => u.pathname === bookmarked.pathname && u.search === bookmarked.search);
  });
});

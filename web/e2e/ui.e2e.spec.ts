/**
 * The built UI in Debian's Chromium against the real control plane (Postgres, NATS, every service): what a new
 * admin does first — log in, add a cluster, create and revoke an API token, and find it all in the audit log.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import type { Db } from "../../services/_shared/db.js";
import { createTestDb } from "../../services/_shared/testing/database.js";
import { createOrgWithAdmin, TEST_PASSWORD, uniqueName, type TestOrg } from "../../services/_shared/testing/fixtures.js";
import { ContractClient } from "../../services/_shared/testing/http.js";
import { startTestNatsServer, type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { startTestPlatform, type TestPlatform } from "../../services/_shared/testing/platform.js";
import { AuditPage } from "./pages/AuditPage.js";
import { ClustersPage } from "./pages/ClustersPage.js";
import { LoginPage } from "./pages/LoginPage.js";
import { TokensPage } from "./pages/TokensPage.js";
import { startWebServer, type WebServer } from "./web-server.js";

const WEB_ROOT = fileURLToPath(new URL("..", import.meta.url));
const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/", import.meta.url));
const VITE_BIN = fileURLToPath(new URL("../../node_modules/vite/bin/vite.js", import.meta.url));
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];

describe("web UI in a real browser (real control plane)", function () {
  this.timeout(120_000);
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let web: WebServer;
  let distDir: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let org: TestOrg;

  before(async () => {
    // Build into a private folder so the test always runs the current source and never races another build.
    distDir = await mkdtemp(join(tmpdir(), "stackyard-web-"));
    // A child process: vite's resolver and the tsx loader of this process do not mix.
    await promisify(execFile)(process.execPath, [
      VITE_BIN,
      "build",
      "--config",
      join(WEB_ROOT, "vite.config.ts"),
      "--outDir",
      distDir,
      "--emptyOutDir",
      "--logLevel",
      "warn",
    ]);
    db = await createTestDb();
    nats = await startTestNatsServer();
    platform = await startTestPlatform(nats);
    org = await createOrgWithAdmin(new ContractClient(platform.baseUrl), uniqueName("ui"));
    web = await startWebServer({ distDir, apiBaseUrl: platform.baseUrl });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
  });

  afterEach(async function () {
    if (this.currentTest?.state !== "failed" || !page) return;
    await mkdir(ARTIFACTS, { recursive: true });
    const name = (this.currentTest.title || "failure").replace(/[^a-z0-9]+/gi, "-").toLowerCase();
    await page.screenshot({ path: join(ARTIFACTS, `ui-${name}.png`), fullPage: true }).catch(() => undefined);
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await web?.close();
    await platform?.stop();
    await nats?.stop();
    await db?.destroy();
    if (distDir) await rm(distDir, { recursive: true, force: true });
  });

  it("refuses a wrong password and says so", async () => {
    const login = new LoginPage(page, web.url);
    await login.goto("/");
    expect(new URL(page.url()).pathname).to.equal("/login");
    await login.submit(org.admin.email, "not the password");
    expect(await login.alert()).to.contain("Wrong email or password");
  });

  it("logs in and lands on the clusters page of the org", async () => {
    const login = new LoginPage(page, web.url);
    await login.submit(org.admin.email, TEST_PASSWORD);
    await page.waitForURL(`**/orgs/${org.orgId}/clusters`);
    await page.getByText("No clusters yet.").waitFor();
  });

  it("adds a cluster and shows its one-time registration token and agent command", async () => {
    const clusters = new ClustersPage(page);
    const name = `edge-${Date.now().toString(36)}`;
    const shown = await clusters.addCluster(name);
    expect(shown.registrationToken).to.match(/^syr_[A-Za-z0-9_-]{20,}$/);
    expect(shown.agentCommand).to.contain(`--token ${shown.registrationToken}`);
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
    expect(all).to.include.members(["auth.login", "auth.login_failed", "cluster.create", "token.create", "token.revoke"]);
    expect(all.indexOf("token.revoke")).to.be.lessThan(all.indexOf("token.create"), "newest first");

    await audit.filterByAction("token.*");
    expect(await audit.actions()).to.deep.equal(["token.revoke", "token.create"]);
    await page.reload();
    expect(await audit.actions()).to.deep.equal(["token.revoke", "token.create"]);
  });

  it("logs out and a bookmarked page asks for a login, then returns to it", async () => {
    const audit = new AuditPage(page);
    const bookmarked = new URL(page.url());
    await audit.logout();
    await page.goto(bookmarked.toString());
    const login = new LoginPage(page, web.url);
    await page.getByRole("form", { name: "Log in" }).waitFor();
    await login.login(org.admin.email, TEST_PASSWORD);
    await page.waitForURL((u) => u.pathname === bookmarked.pathname && u.search === bookmarked.search);
  });
});

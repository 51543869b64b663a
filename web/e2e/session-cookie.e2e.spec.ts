/**
 * The session in Debian's Chromium against the real gateway: after logging in, no refresh token is anywhere a
 * script can read (localStorage, document.cookie), a reload keeps the user logged in through the HttpOnly
 * cookie, and logging out ends it so a reload asks for the password again.
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

describe("the session cookie in a real browser", function () {
  this.timeout(120_000);
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let built: BuiltWeb | undefined;
  let session: BrowserSession | undefined;
  let page: Page;
  let org: TestOrg;

  before(async () => {
    built = await buildWeb();
    db = await createTestDb();
    nats = await startTestNatsServer();
    platform = await startTestPlatform(nats, { WEB_DIST_DIR: built.distDir });
    org = await createOrgWithAdmin(new ContractClient(platform.baseUrl), uniqueName("cookie"));
    session = await openBrowser();
    page = session.page;
  });
  afterEach(async function () {
    await screenshotFailure(this.currentTest, page, "session-cookie");
  });
  after(async () => {
    await session?.close();
    await platform?.stop();
    await nats?.stop();
    await db?.destroy();
    await built?.remove();
  });

  it("keeps no refresh token where script can read it, and survives a reload", async () => {
    const login = new LoginPage(page, platform.baseUrl);
    await login.goto("/");
    await login.login(org.admin.email, TEST_PASSWORD);
    const storage = await page.evaluate(() => JSON.stringify({ ...window.localStorage }));
    expect(storage).to.not.match(/refresh|stk_|\.[A-Za-z0-9_-]{20,}/i);
    expect(await page.evaluate(() => document.cookie)).to.not.contain("stackyard_refresh");
    const cookies = await page.context().cookies();
    const refresh = cookies.find((c) => c.name === "stackyard_refresh");
    expect(refresh, "the browser holds the cookie").to.not.equal(undefined);
    expect(refresh).to.include({ httpOnly: true, secure: true, sameSite: "Strict", path: "/v1/auth" });

    await page.reload();
    await page.getByRole("navigation", { name: "Main" }).waitFor({ timeout: 20_000 });
    expect(page.url()).to.not.contain("/login");
  });

  it("logs out for good: the cookie is cleared and a reload asks for the password", async () => {
    await page.getByRole("button", { name: /log out/i }).click();
    await page.getByRole("form", { name: "Log in" }).waitFor();
    const refresh = (await page.context().cookies()).find((c) => c.name === "stackyard_refresh");
    expect(refresh?.value ?? "").to.equal("");
    await page.reload();
    await page.getByRole("form", { name: "Log in" }).waitFor({ timeout: 20_000 });
  });
});

/**
 * The Notifications page in Debian's Chromium against the real control plane and a local HTTP receiver: an org
 * admin adds an endpoint (the signing secret shown once), sends a test event that the receiver verifies, sees the
 * delivery log with the receiver's answer, and a refused URL shown whole.
 */
import { expect } from "chai";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
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
import { freePort, startTestNatsServer, type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { startTestPlatform, type TestPlatform } from "../../services/_shared/testing/platform.js";
import { until } from "../../services/_shared/testing/wait.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from "../../services/notifications/signature.js";
import { buildWeb, openBrowser, screenshotFailure, type BrowserSession, type BuiltWeb } from "./harness.js";
import { LoginPage } from "./pages/LoginPage.js";
import { NotificationsPage } from "./pages/NotificationsPage.js";

describe("notifications page (real browser, real control plane, HTTP receiver)", function () {
  this.timeout(120_000);
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let built: BuiltWeb | undefined;
  let session: BrowserSession | undefined;
  let page: Page;
  let org: TestOrg;
  let receiver: Server;
  let port: number;
  const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];

  before(async () => {
    port = await freePort();
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
        res.statusCode = 202;
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(port, "127.0.0.1", r));
    built = await buildWeb();
    db = await createTestDb();
    nats = await startTestNatsServer();
    platform = await startTestPlatform(nats, {
      WEB_DIST_DIR: built.distDir,
      STACKYARD_TEST_NOTIFY_ALLOW_HOSTS: `127.0.0.1:${port}`,
      NOTIFY_POLL_INTERVAL_MS: "200",
    });
    org = await createOrgWithAdmin(new ContractClient(platform.baseUrl), uniqueName("notify"));
    session = await openBrowser();
    page = session.page;
  });

  afterEach(async function () {
    await screenshotFailure(this.currentTest, page, "notifications");
  });

  after(async () => {
    await session?.close();
    await platform?.stop();
    await nats?.stop();
    await db?.destroy();
    await built?.remove();
    await new Promise((r) => receiver?.close(r));
  });

  it("adds an endpoint, sends a signed test event, and shows the receiver's answer in the delivery log", async () => {
    const login = new LoginPage(page, platform.baseUrl);
    await login.goto("/");
    await login.login(org.admin.email, TEST_PASSWORD);
    const notifications = new NotificationsPage(page);
    await notifications.open();
    const secret = await notifications.add({
      name: "ops-channel",
      url: `http://127.0.0.1:${port}/services/T0/B0/path-secret`,
      alsoEvents: ["Release created"],
    });
    expect(secret).to.match(/^whsec_/);
    const row = notifications.row("ops-channel");
    await row.waitFor();
    expect(await row.innerText()).to.not.contain("path-secret");
    expect(await page.content(), "the secret is gone once the dialog closed").to.not.contain(secret);

    await notifications.sendTest("ops-channel");
    const got = await until("the test delivery", async () =>
      received.find((r) => r.body.includes("notification.test")),
    );
    const timestamp = Number(got.headers[TIMESTAMP_HEADER]);
    expect(verifySignature(secret, timestamp, got.body, String(got.headers[SIGNATURE_HEADER]))).to.equal(true);

    // The row, not the section: the empty state ("Nothing delivered yet") also contains the word.
    const delivery = notifications.deliveries("ops-channel").locator('tr[data-delivery="notification.test"]');
    await delivery.getByText("delivered", { exact: true }).waitFor({ timeout: 20_000 });
    expect(await delivery.innerText()).to.contain("202");
  });

  it("shows a refused URL with the reason and the address it resolves to", async () => {
    const notifications = new NotificationsPage(page);
    const refusal = await notifications.addRefused({ name: "metadata", url: "http://169.254.169.254/latest" });
    expect(refusal).to.contain("169.254.169.254 (cloud metadata)");
    expect(await notifications.row("metadata").count()).to.equal(0);
  });
});

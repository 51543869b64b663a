/**
 * MFA in Debian's Chromium against the real control plane: a user sets MFA up on the account page (QR code, key, a
 * first code, recovery codes), logs out and logs in again with a generated code (and once with a recovery code);
 * an admin then requires MFA for everyone on the users page, and a user without it is made to enrol inside the
 * login before reaching the app.
 */
import { expect } from "chai";
import type { Page } from "playwright-core";
import {
  createOrgWithAdmin,
  createUserWithRole,
  TEST_PASSWORD,
  uniqueName,
  type TestOrg,
  type TestUser,
} from "../../services/_shared/testing/fixtures.js";
import type { ContractClient } from "../../services/_shared/testing/http.js";
import { startTestStack, stopTestStack, type TestStack } from "../../services/_shared/testing/stack.js";
import { sleep } from "../../services/_shared/testing/wait.js";
import { base32Decode, totp } from "../../services/auth/totp.js";
import { buildWeb, openBrowser, screenshotFailure, type BrowserSession, type BuiltWeb } from "./harness.js";
import { LoginPage } from "./pages/LoginPage.js";
import { MfaCard, MfaCodeStep, MfaEnrollmentForm } from "./pages/MfaPages.js";
import { Shell } from "./pages/Shell.js";

/** What an authenticator app shows for `secret`, `steps` time steps from now. */
const appCode = (secret: string, steps = 0): string => totp(base32Decode(secret), Date.now() + steps * 30_000);

/** Starts the next time step when fewer than `ms` are left in this one, so the steps used stay where expected. */
async function roomInStep(ms: number): Promise<void> {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < ms) await sleep(left + 50);
}

describe("MFA in a real browser (real control plane)", function () {
  this.timeout(180_000);
  let stack: TestStack | undefined;
  let built: BuiltWeb | undefined;
  let session: BrowserSession | undefined;
  let api: ContractClient;
  let page: Page;
  let org: TestOrg;
  let viewer: TestUser;

  before(async () => {
    built = await buildWeb();
    stack = await startTestStack({ WEB_DIST_DIR: built.distDir });
    api = stack.api;
    org = await createOrgWithAdmin(api, uniqueName("ui-mfa"));
    viewer = await createUserWithRole(api, org, "VIEWER");
    session = await openBrowser();
    page = session.page;
  });

  afterEach(async function () {
    await screenshotFailure(this.currentTest, page, "mfa");
  });

  after(async () => {
    await session?.close();
    if (stack) await stopTestStack(stack);
    await built?.remove();
  });

  it("enrols on the account page, logs out, and logs in again with a code from the app", async () => {
    const login = new LoginPage(page, platformUrl());
    await login.goto("/");
    await login.login(org.admin.email, TEST_PASSWORD);
    await page.goto(`${platformUrl()}/orgs/${org.orgId}/account`);
    const card = new MfaCard(page);
    await card.section().getByText("off", { exact: true }).waitFor();

    await roomInStep(10_000);
    await card.start();
    const enrollment = new MfaEnrollmentForm(page);
    expect(await enrollment.qrShown()).to.equal(true);
    const secret = await enrollment.secret();
    expect(secret).to.match(/^[A-Z2-7]{32}$/);
    await enrollment.confirm(appCode(secret));
    const recoveryCodes = await enrollment.keepRecoveryCodes("I saved them");
    expect(recoveryCodes).to.have.length(10);
    await card
      .section()
      .getByText(/10 unused recovery code/)
      .waitFor();

    await new Shell(page).logout();
    await login.submit(org.admin.email, TEST_PASSWORD);
    const step = new MfaCodeStep(page);
    await step.form().waitFor();
    // The enrolment spent this step's code: the login uses the next one (accepted one step ahead).
    await step.submit(appCode(secret, 1));
    await page.getByRole("navigation", { name: "Main" }).waitFor();

    await new Shell(page).logout();
    await login.submit(org.admin.email, TEST_PASSWORD);
    await step.form().waitFor();
    await step.submit("000000" === appCode(secret, 1) ? "111111" : "000000");
    expect(await step.form().getByRole("alert").innerText()).to.contain("Wrong code");
    await step.submit(recoveryCodes[0]!);
    await page.getByRole("navigation", { name: "Main" }).waitFor();
  });

  it("requires MFA for every user: a user without it enrols inside the login before reaching the app", async () => {
    await new Shell(page).navigate("Users");
    const panel = page.getByRole("region", { name: "MFA policy" });
    await panel.getByLabel("MFA required for").selectOption("all");
    await panel.getByText(/1 must set MFA up at their next login/).waitFor();
    const viewerRow = page.getByRole("row").filter({ hasText: viewer.email });
    expect(await viewerRow.getByRole("cell").nth(4).innerText()).to.equal("off");
    // The viewer's session ended with the policy.
    expect((await api.get("/v1/auth/me", viewer.auth)).status).to.equal(401);

    await new Shell(page).logout();
    const login = new LoginPage(page, platformUrl());
    await login.submit(viewer.email, TEST_PASSWORD);
    await page.getByRole("region", { name: "MFA required" }).waitFor();
    await roomInStep(5_000);
    const enrollment = new MfaEnrollmentForm(page);
    const secret = await enrollment.secret();
    await enrollment.confirm(appCode(secret));
    const codes = await enrollment.keepRecoveryCodes("I saved them — continue");
    expect(codes).to.have.length(10);
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    await page.goto(`${platformUrl()}/orgs/${org.orgId}/account`);
    const card = new MfaCard(page);
    await card
      .section()
      .getByText(/cannot be turned off/)
      .waitFor();
    expect(await card.section().getByRole("button", { name: "Turn off MFA" }).count()).to.equal(0);
  });

  function platformUrl(): string {
    return stack!.platform.baseUrl;
  }
});

/**
 * Private git in Debian's Chromium against the real control plane and a real OpenSSH server: create a deploy key on
 * the Git credentials page, copy its public key with the button, authorize it on the server, create a release from
 * the private repository choosing the key, and see the trusted host's fingerprint; a forbidden URL shows its error.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
import { startSshGitServer, type SshGitServer } from "../../services/_shared/testing/ssh-git-server.js";
import { createTestGitRepo, type TestGitRepo } from "../../services/stacks/test-fixtures.js";
import { buildWeb, openBrowser, screenshotFailure, type BrowserSession, type BuiltWeb } from "./harness.js";
import { GitCredentialsPage } from "./pages/GitCredentialsPage.js";
import { LoginPage } from "./pages/LoginPage.js";
import { StacksPage } from "./pages/StacksPages.js";

function fingerprintOf(publicKeyLine: string): string {
  const dir = mkdtempSync(join(tmpdir(), "stackyard-fp-"));
  try {
    writeFileSync(join(dir, "k.pub"), `${publicKeyLine}\n`);
    return execFileSync("ssh-keygen", ["-lf", join(dir, "k.pub")], { encoding: "utf8" }).split(" ")[1] ?? "";
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("git credentials in a real browser (real control plane, real sshd)", function () {
  this.timeout(120_000);
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let built: BuiltWeb | undefined;
  let session: BrowserSession | undefined;
  let sshd: SshGitServer | undefined;
  let repo: TestGitRepo | undefined;
  let page: Page;
  let org: TestOrg;

  before(async () => {
    sshd = await startSshGitServer();
    repo = createTestGitRepo("stackyard-ui-git-");
    writeFileSync(join(repo.work, "compose.yml"), "services:\n  web:\n    image: nginx:1.27\n");
    repo.git(repo.work, "add", ".");
    repo.git(repo.work, "commit", "--quiet", "-m", "v1");
    repo.git(repo.work, "push", "--quiet", repo.bare, "main");
    sshd.addRepo("ui.git", repo.bare);
    built = await buildWeb();
    db = await createTestDb();
    nats = await startTestNatsServer();
    platform = await startTestPlatform(nats, {
      WEB_DIST_DIR: built.distDir,
      STACKYARD_TEST_GIT_ALLOW_HOSTS: `127.0.0.1:${sshd.port}`,
    });
    org = await createOrgWithAdmin(new ContractClient(platform.baseUrl), uniqueName("ui-git"));
    session = await openBrowser();
    await session.context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: platform.baseUrl });
    page = session.page;
    const login = new LoginPage(page, platform.baseUrl);
    await login.goto("/");
    await login.submit(org.admin.email, TEST_PASSWORD);
    await page.waitForURL(`**/orgs/${org.orgId}/clusters`);
  });

  afterEach(async function () {
    await screenshotFailure(this.currentTest, page, "git-credentials");
  });

  after(async () => {
    await session?.close();
    await platform?.stop();
    await nats?.stop();
    await db?.destroy();
    await built?.remove();
    await sshd?.stop();
    if (repo) rmSync(repo.root, { recursive: true, force: true });
  });

  it("creates a deploy key, copies its public key, releases from the private repository with it, shows the host key", async () => {
    const credentials = new GitCredentialsPage(page);
    await credentials.navigate("Git credentials");
    await page.getByText(/No git credentials yet/).waitFor();
    const { publicKey, copied } = await credentials.createDeployKey("ui-key");
    expect(publicKey).to.match(/^ssh-ed25519 AAAA\S+ stackyard-ui-key$/);
    expect(copied).to.equal(publicKey);
    const card = credentials.card("ui-key");
    expect(await card.getByTestId("public-key-ui-key").innerText()).to.equal(publicKey);
    await card.getByText(/No trusted host yet/).waitFor();
    sshd!.authorize(copied);

    const stacks = new StacksPage(page);
    await stacks.navigate("Stacks");
    await stacks.create("private-app", "from a private repository");
    await credentials.releaseFromGit("https://127.0.0.1/acme/app.git", null);
    await page
      .getByRole("dialog", { name: "Release from git" })
      .getByText(/127\.0\.0\.1.*loopback/)
      .waitFor();
    await page.getByRole("button", { name: "Cancel" }).click();

    await credentials.releaseFromGit(sshd!.urlOf("ui.git"), "ui-key");
    await page.getByRole("heading", { level: 1, name: /^Release v1$/ }).waitFor();
    await page.getByText("nginx:1.27").first().waitFor();

    await credentials.navigate("Git credentials");
    await credentials.card("ui-key").getByText(fingerprintOf(sshd!.hostPublicKey)).waitFor();
    expect(await credentials.card("ui-key").getByText(`[127.0.0.1]:${sshd!.port}`).count()).to.equal(1);
  });
});

/**
 * The exec terminal in a real browser: the built UI in Chromium, the real control plane, the real agent and this
 * machine's dockerd as a single-node Swarm. On the service page, Terminal on a running task opens xterm.js over the
 * exec WebSocket (authenticated by the bearer subprotocol, same origin); a command typed there prints its output in
 * the terminal, `exit 3` ends the session with its code, and both ends are in the audit log.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import type { Page } from "playwright-core";
import { testStackCompose } from "../../services/_shared/testing/swarm.js";
import { startSwarmWorld, type SwarmWorld, type WorldEnvironment } from "../../services/_shared/testing/swarm-world.js";
import { until } from "../../services/_shared/testing/wait.js";
import { buildWeb, openBrowser, screenshotFailure, type BrowserSession, type BuiltWeb } from "./harness.js";
import { LoginPage } from "./pages/LoginPage.js";

describe("the exec terminal in a real browser (real control plane, real agent, real Swarm)", function () {
  this.timeout(180_000);
  let built: BuiltWeb | undefined;
  let world: SwarmWorld | undefined;
  let session: BrowserSession | undefined;
  let page: Page;
  let env: WorldEnvironment;

  before(async function () {
    this.timeout(300_000);
    built = await buildWeb();
    world = await startSwarmWorld({ clusterName: "exec-ui", env: { WEB_DIST_DIR: built.distDir } });
    const stackId = await world.createStack(`xt${randomBytes(3).toString("hex")}`);
    env = await world.createEnvironment(stackId, "prod");
    const v1 = await world.uploadRelease(stackId, testStackCompose({ command: ["sleep", "3600"], replicas: 1 }));
    await world.deploy(env, v1);
    session = await openBrowser({ defaultTimeoutMs: 20_000 });
    page = session.page;
    const login = new LoginPage(page, world.platform.baseUrl);
    await login.goto();
    await login.login(world.org.admin.email, "correct horse battery staple");
  });
  afterEach(async function () {
    await screenshotFailure(this.currentTest, page, "exec-terminal");
  });
  after(async function () {
    this.timeout(120_000);
    await session?.close();
    await world?.stop();
    await built?.remove();
  });

  it("types a command in the terminal of a running task and sees its output, then its exit code", async () => {
    const base = world!.platform.baseUrl;
    await page.goto(`${base}/orgs/${world!.org.orgId}/environments/${env.id}/services/app`);
    const tasks = page.getByRole("table", { name: "Tasks" });
    await tasks.getByRole("button", { name: "Terminal" }).first().click();
    const terminal = page.getByRole("region", { name: "Terminal" });
    await page.locator('section[aria-label="Terminal"][data-state="open"]').waitFor();
    await page.locator(".xterm-helper-textarea").focus();
    await page.keyboard.type("echo hello-$((40+2))\n");
    await until("the command's output in the terminal", async () =>
      (await terminal.locator(".xterm-rows").innerText()).includes("hello-42") ? true : undefined,
    );
    await page.keyboard.type("exit 3\n");
    await terminal.getByRole("status").filter({ hasText: "exited with code 3" }).waitFor();
    const ends = await until("the session's end in the audit log", async () => {
      const rows = await world!.db("audit_events").where({ org_id: world!.org.orgId, action: "exec.end" });
      return rows.length === 1 ? rows : undefined;
    });
    expect(ends[0].data_json).to.deep.include({ reason: "exited", exitCode: 3 });
    expect(ends[0].data_json.transcript.output).to.contain("hello-42");
  });
});

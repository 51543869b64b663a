/**
 * The views an operator looks for in the first hour, in a real browser against everything real: the built UI in
 * Chromium, the control plane (every service, Postgres, nats-server), the agent started by pasting the install
 * command the UI shows (from-source path, run as it is by bash with a fresh HOME), and this machine's dockerd as a
 * single-node Swarm. Compose errors keep their paths; a release deploys from its own page through the diff; the
 * stacks list, the cluster page and the service page show what runs; the audit log names things and filters.
 *
 * The stack is named `ov<random>`; `after` removes it from the Swarm.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import type { Db } from "../../services/_shared/db.js";
import { createTestDb } from "../../services/_shared/testing/database.js";
import { createOrgWithAdmin, TEST_PASSWORD, type TestOrg } from "../../services/_shared/testing/fixtures.js";
import { ContractClient } from "../../services/_shared/testing/http.js";
import { startTestNatsServer, type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { startTestPlatform, type TestPlatform } from "../../services/_shared/testing/platform.js";
import {
  prepareSwarm,
  removeStack,
  spawnShellText,
  stopShellText,
  testStackCompose,
  type AgentProcess,
} from "../../services/_shared/testing/swarm.js";
import { until } from "../../services/_shared/testing/wait.js";
import { buildWeb, openBrowser, screenshotFailure, type BrowserSession, type BuiltWeb } from "./harness.js";
import { ClustersPage } from "./pages/ClustersPage.js";
import { LoginPage } from "./pages/LoginPage.js";
import { StacksPage } from "./pages/StacksPages.js";

// A line a second after the greeting, for the live "Follow" view (`$$` is compose's escape for `$`).
const V1 = testStackCompose({
  command: ["sh", "-c", "echo hello-from-views; i=0; while true; do i=$$((i+1)); echo tick-$$i; sleep 1; done"],
  replicas: 1,
});
const BAD_SCHEMA = "services:\n  app:\n    image: busybox\n    frobnicate: true\n    deploy:\n      replicas: two\n";
const BAD_YAML = "services:\n  app:\n    image: busybox\n   ports: [1\n";

describe("operator views in a real browser (real control plane, agent from the shown command, real Swarm)", function () {
  this.timeout(180_000);
  const stackName = `ov${randomBytes(4).toString("hex")}`;
  const swarmStack = `${stackName}-prod`;
  const clusterName = `views-${randomBytes(3).toString("hex")}`;
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let org: TestOrg;
  let built: BuiltWeb | undefined;
  let session: BrowserSession | undefined;
  let page: Page;
  let home: string | undefined;
  let agent: AgentProcess | null = null;

  /** Reloads until `check` passes (the page's data comes from inventories and polls). */
  const eventually = (what: string, check: () => Promise<boolean>, timeoutMs = 40_000) =>
    until(
      what,
      async () => {
        await page.reload();
        return (await check().catch(() => false)) ? true : undefined;
      },
      timeoutMs,
      1_000,
    );

  before(async function () {
    this.timeout(300_000);
    await prepareSwarm();
    built = await buildWeb();
    db = await createTestDb();
    nats = await startTestNatsServer();
    platform = await startTestPlatform(nats, { WEB_DIST_DIR: built.distDir });
    org = await createOrgWithAdmin(new ContractClient(platform.baseUrl));
    session = await openBrowser();
    page = session.page;
    home = await mkdtemp(join(tmpdir(), "stackyard-views-home-"));
  });

  afterEach(async function () {
    await screenshotFailure(this.currentTest, page, "views");
    if (this.currentTest?.state === "failed" && agent) console.error(agent.output.slice(-60).join("\n"));
  });

  after(async function () {
    this.timeout(120_000);
    await session?.close();
    await stopShellText(agent);
    await removeStack(swarmStack).catch((err: unknown) => console.error(String(err)));
    await platform?.stop();
    await nats?.stop();
    await db?.destroy();
    await built?.remove();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it("runs the from-source install command the UI shows, as shown: the cluster comes online", async () => {
    const login = new LoginPage(page, platform.baseUrl);
    await login.goto("/");
    await login.login(org.admin.email, TEST_PASSWORD);
    const clusters = new ClustersPage(page);
    const shown = await clusters.addCluster(clusterName);
    expect(shown.fromSource).to.contain("export STACKYARD_AGENT_TOKEN=");
    expect(shown.fromSource + shown.docker).not.to.contain("--token");
    await page.getByText("State: $HOME/.stackyard-agent.").waitFor();
    await clusters.closeDialog();

    agent = spawnShellText(shown.fromSource, { HOME: home! });
    await eventually("the cluster to show online", async () => (await clusters.statusOf(clusterName)) === "online");
  });

  it("shows compose errors with their paths, marked in the editor, and YAML errors with line and column", async () => {
    const stacks = new StacksPage(page);
    await stacks.navigate("Stacks");
    await stacks.create(stackName, "operator views");
    await stacks.createEnvironment("prod", clusterName);

    await page.getByRole("button", { name: "Upload release" }).click();
    const dialog = page.getByRole("dialog", { name: "Upload release" });
    await dialog.getByLabel("…or paste it").fill(BAD_SCHEMA);
    await dialog.getByRole("button", { name: "Create release" }).click();
    const alert = dialog.getByRole("alert");
    await alert.waitFor();
    const text = await alert.innerText();
    expect(text).to.contain("services.app.deploy.replicas: must be integer");
    expect(text).to.contain("services.app.frobnicate: is not allowed here");
    const marks = dialog.getByRole("list", { name: "Problems in the compose file" });
    expect(await marks.innerText()).to.contain("Line 4, column 5: services.app.frobnicate: is not allowed here");

    await dialog.getByLabel("…or paste it").fill(BAD_YAML);
    await dialog.getByRole("button", { name: "Create release" }).click();
    await alert.getByText(/invalid YAML at line 4, column \d+: /).waitFor();
    expect(await dialog.getByRole("alert").innerText()).not.to.match(/column \d+:\s*$/m);
    await marks.getByText(/^Line 4, column \d+: invalid YAML: /).waitFor();
    await dialog.getByRole("button", { name: "Cancel" }).click();
  });

  it("deploys a release from its own page, through the diff, and the deployment succeeds", async () => {
    await new StacksPage(page).uploadRelease(V1, "v1");
    await page.getByRole("link", { name: "Deploy v1 to prod…" }).click();
    await page.getByText("added").first().waitFor();
    await page.getByRole("button", { name: "Deploy v1" }).click();
    const confirm = page.getByRole("dialog", { name: `Deploy v1 to ${stackName} / prod?` });
    await confirm.getByRole("button", { name: "Deploy v1" }).click();
    await page.waitForURL(/\/deployments\//);
    const end = page.locator("[data-end]");
    await end.waitFor({ timeout: 90_000 });
    expect(await end.getAttribute("data-end")).to.equal("SUCCEEDED");
  });

  it("lists the environment in the stacks list with its health, release and last deploy", async () => {
    await new StacksPage(page).navigate("Stacks");
    const env = page.locator(`[data-stack="${stackName}"] [data-environment="prod"]`);
    await eventually(
      "prod to show healthy 1/1",
      async () => (await env.getByTestId("health").innerText()) === "healthy 1/1",
    );
    expect(await env.getByTestId("current-release").innerText()).to.equal("runs v1");
    expect(await env.getByTestId("last-deploy").innerText()).to.equal("v1 succeeded");
  });

  it("shows the stacks and the services on the cluster's page", async () => {
    await new StacksPage(page).navigate("Clusters");
    await new ClustersPage(page).open(clusterName);
    const row = page
      .getByRole("region", { name: "Stacks on this cluster" })
      .locator(`[data-environment="${stackName}/prod"]`);
    await row.waitFor();
    expect(await row.innerText())
      .to.contain("healthy 1/1")
      .and.to.contain("v1 succeeded");
    const service = page
      .getByRole("region", { name: "Services on this cluster" })
      .locator(`[data-service="${swarmStack}_app"]`);
    await service.waitFor();
    expect(await service.innerText())
      .to.contain("1/1")
      .and.to.contain(swarmStack);
  });

  it("opens the service page: its task with node, state and time, and its logs with a filter", async () => {
    await new StacksPage(page).navigate("Stacks");
    await page.locator(`[data-stack="${stackName}"]`).getByRole("link", { name: "prod", exact: true }).click();
    await page.getByRole("region", { name: "Services" }).getByRole("link", { name: "app", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: `${stackName} / prod · app` }).waitFor();
    const task = page.getByRole("table", { name: "Tasks" }).locator('tr[data-state="running"]');
    await task.first().waitFor({ timeout: 30_000 });
    const cells = await task.first().locator("td").allInnerTexts();
    expect(cells[1], "the node's hostname, not its id").to.not.equal("not scheduled");
    expect(cells[4]).to.match(/ago|now|s$/);

    const logs = page.getByRole("region", { name: "Logs" });
    await until(
      "the service's first log line",
      async () => {
        await logs.getByRole("button", { name: "Refresh", exact: true }).click();
        return (await logs.innerText()).includes("hello-from-views") ? true : undefined;
      },
      30_000,
      1_000,
    );
    await logs.getByLabel("Contains").fill("no-such-text");
    await logs.getByText("No line contains “no-such-text”.").waitFor();
    await logs.getByRole("button", { name: "Refresh every 3 s" }).click();
    await logs.getByRole("button", { name: "Stop refreshing" }).click();
  });

  it("follows the service's logs live: a new line appears, and Stop ends the follow", async () => {
    const live = page.getByLabel("Live logs");
    await live.getByLabel("Last lines first").fill("1");
    await live.getByLabel("Only lines with").fill("tick-");
    await live.getByRole("button", { name: "Follow", exact: true }).click();
    await live.getByText("Following live.").waitFor({ timeout: 15_000 });
    const lines = live.getByRole("list", { name: "Live log lines" }).locator("li");
    await lines.first().waitFor({ timeout: 10_000 });
    const first = await lines.last().innerText();
    // The service writes a line a second: a newer one arrives while following, with no reload.
    await until(
      "a new live line",
      async () => ((await lines.last().innerText()) !== first ? true : undefined),
      5_000,
      100,
    );
    const texts = await lines.allInnerTexts();
    expect(
      texts.every((t) => /tick-\d+/.test(t)),
      texts.join("\n"),
    ).to.equal(true);
    expect(texts.some((t) => t.includes("hello-from-views"))).to.equal(false);
    await live.getByRole("button", { name: "Stop", exact: true }).click();
    await live.getByText("Stopped.").waitFor();
    const count = await lines.count();
    await page.waitForTimeout(2_500);
    expect(await lines.count(), "lines after Stop").to.equal(count);
    await live.getByRole("button", { name: "Follow", exact: true }).waitFor();
  });

  it("names the audit log's actors and targets, and filters by a target from its row", async () => {
    await new StacksPage(page).navigate("Audit");
    const target = page.getByRole("button", { name: `environment ${stackName} / prod` }).first();
    await target.waitFor();
    expect(await page.getByRole("button", { name: org.admin.email }).count()).to.be.greaterThan(0);
    await target.click();
    await page.getByText("Only entries about").waitFor();
    await until(
      "the target filter to apply",
      async () => {
        const targets = await page.locator("tr[data-action] td:nth-child(4)").allInnerTexts();
        return targets.length > 0 && targets.every((t) => t === `environment ${stackName} / prod`) ? true : undefined;
      },
      10_000,
      300,
    );
    expect(new URL(page.url()).searchParams.get("targetType")).to.equal("environment");
  });
});

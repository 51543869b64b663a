/**
 * The deploy loop in a real browser against everything real: the built UI in Debian's Chromium, the control plane
 * (every service in-process, Postgres, nats-server in operator mode), the agent as a child process registered with
 * the token the UI shows, and this machine's dockerd as a single-node Swarm running a locally built image.
 *
 * The stack is named `ui<random>`; `after` removes it from the Swarm and waits until it is gone.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Page } from "playwright-core";
import type { Db } from "../../services/_shared/db.js";
import { createTestDb } from "../../services/_shared/testing/database.js";
import { createOrgWithAdmin, TEST_PASSWORD, type TestOrg } from "../../services/_shared/testing/fixtures.js";
import { ContractClient } from "../../services/_shared/testing/http.js";
import { startTestNatsServer, type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { startTestPlatform, type TestPlatform } from "../../services/_shared/testing/platform.js";
import { until } from "../../services/_shared/testing/wait.js";
import { buildWeb, openBrowser, REPO_ROOT, screenshotFailure, type BrowserSession, type BuiltWeb } from "./harness.js";
import { AuditPage } from "./pages/AuditPage.js";
import { ClusterPage } from "./pages/ClusterPage.js";
import { ClustersPage } from "./pages/ClustersPage.js";
import { EnvironmentPage } from "./pages/EnvironmentPage.js";
import { LoginPage } from "./pages/LoginPage.js";
import { StacksPage } from "./pages/StacksPages.js";
import {
  docker,
  prepareSwarm,
  removeStack,
  spawnAgent,
  stopAgent,
  testStackCompose,
  type AgentProcess,
} from "../../services/_shared/testing/swarm.js";

/** The README's screenshot is refreshed only on request, so a test run leaves the tree clean. */
const SCREENSHOT = process.env.STACKYARD_UPDATE_SCREENSHOTS
  ? join(REPO_ROOT, "docs/screenshots/environment.png")
  : join(REPO_ROOT, "test-artifacts/environment.png");

const compose = testStackCompose;

const V1 = compose({ command: ["sleep", "3600"], replicas: 1 });
const V2 = compose({ command: ["sh", "-c", "echo started-v2; exec sleep 3600"], replicas: 1, env: { FEATURE: "on" } });
const STUCK = compose({ command: ["sleep", "3600"], replicas: 1, constraint: "node.labels.nope == 1" });

/** The README's picture: the environment page from its header to the end of the deployment history. */
async function saveEnvironmentScreenshot(page: Page): Promise<void> {
  await mkdir(dirname(SCREENSHOT), { recursive: true });
  const history = await page.getByRole("region", { name: "Deployment history" }).boundingBox();
  if (!history) throw new Error("the deployment history is not on screen");
  const height = Math.ceil(history.y + history.height + 16);
  const size = page.viewportSize();
  await page.setViewportSize({ width: 1280, height: Math.max(height, 600) });
  await page.screenshot({ path: SCREENSHOT, clip: { x: 0, y: 0, width: 1280, height } });
  if (size) await page.setViewportSize(size);
}

interface ServiceSpec {
  Spec: {
    Mode: { Replicated?: { Replicas: number } };
    TaskTemplate: { ContainerSpec: { Env?: string[] } };
  };
}

describe("the deploy loop in a real browser (real control plane, real agent, real Swarm)", function () {
  this.timeout(120_000);
  const stackName = `ui${randomBytes(4).toString("hex")}`;
  /** The environment's Swarm stack: `<stack>-<environment>` by default. */
  const swarmStack = `${stackName}-prod`;
  const swarmService = `${swarmStack}_app`;
  const clusterName = `swarm-${randomBytes(3).toString("hex")}`;
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let org: TestOrg;
  let built: BuiltWeb | undefined;
  let session: BrowserSession | undefined;
  let page: Page;
  let stateDir: string | undefined;
  let agent: AgentProcess | null = null;

  const inspectService = async (): Promise<ServiceSpec> =>
    (JSON.parse(await docker("service", "inspect", swarmService)) as ServiceSpec[])[0]!;

  /** From a release page (after an upload) back to the environment. */
  const backToEnvironment = async () => {
    await page.getByRole("link", { name: "← Stack" }).click();
    await page.getByRole("link", { name: "prod", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: `${stackName} / prod` }).waitFor();
  };
  const uploadFromEnvironment = async (composeYaml: string, note: string) => {
    await page.getByRole("link", { name: `← ${stackName}` }).click();
    await new StacksPage(page).uploadRelease(composeYaml, note);
    await backToEnvironment();
  };

  before(async function () {
    this.timeout(240_000);
    await prepareSwarm();
    built = await buildWeb();
    db = await createTestDb();
    nats = await startTestNatsServer();
    // The gateway serves the build, as in production.
    platform = await startTestPlatform(nats, { WEB_DIST_DIR: built.distDir });
    org = await createOrgWithAdmin(new ContractClient(platform.baseUrl));
    session = await openBrowser();
    page = session.page;
    stateDir = await mkdtemp(join(tmpdir(), "stackyard-ui-agent-"));
  });

  afterEach(async function () {
    await screenshotFailure(this.currentTest, page, "deploy");
    if (this.currentTest?.state === "failed" && agent) {
      console.error(`--- agent output (last 60 lines) ---\n${agent.output.slice(-60).join("\n")}`);
    }
  });

  after(async function () {
    this.timeout(120_000);
    await session?.close();
    await stopAgent(agent);
    await removeStack(swarmStack).catch((err: unknown) => console.error(String(err)));
    await platform?.stop();
    await nats?.stop();
    await db?.destroy();
    await built?.remove();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it("logs in, adds a cluster and registers a real agent with the token the UI shows", async () => {
    const login = new LoginPage(page, platform.baseUrl);
    await login.goto("/");
    await login.login(org.admin.email, TEST_PASSWORD);
    const clusters = new ClustersPage(page);
    const shown = await clusters.addCluster(clusterName);
    await clusters.closeDialog();

    const register = spawnAgent(["register", "--url", platform.baseUrl, "--state-dir", stateDir!], {
      STACKYARD_AGENT_TOKEN: shown.registrationToken,
    });
    expect(await register.exited, register.output.join("\n")).to.equal(0);
    agent = spawnAgent(["run", "--state-dir", stateDir!], {
      STACKYARD_AGENT_HEARTBEAT_INTERVAL_MS: "1000",
      STACKYARD_AGENT_INVENTORY_DEBOUNCE_MS: "200",
      STACKYARD_AGENT_LOG_LEVEL: "info",
    });

    await until(
      "the cluster to show online",
      async () => {
        await page.reload();
        return (await clusters.statusOf(clusterName)) === "online" ? true : undefined;
      },
      30_000,
      1_000,
    );
  });

  it("creates a stack with a release and an environment on that cluster", async () => {
    const stacks = new StacksPage(page);
    await stacks.navigate("Stacks");
    await stacks.create(stackName, "deployed by the browser suite");
    await stacks.uploadRelease(V1, "v1");
    await page.getByRole("link", { name: "← Stack" }).click();
    await stacks.createEnvironment("prod", clusterName);
    await page.getByRole("link", { name: "prod", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: `${stackName} / prod` }).waitFor();
    await page.getByTitle("docker stack deploy name").getByText(swarmStack, { exact: true }).waitFor();
    await page.getByText("Nothing has been deployed to this environment yet.").waitFor();
  });

  it("deploys release 1 after showing its diff; the live console reaches SUCCEEDED and the service runs", async () => {
    const env = new EnvironmentPage(page);
    const changes = await env.deploy(1);
    expect(changes.join("\n")).to.match(/added\s+app/);

    expect(await env.waitForDeploymentEnd()).to.equal("SUCCEEDED");
    const lines = await env.consoleLines();
    expect(lines[0]?.text).to.equal("queued: deploy of release v1 to environment prod");
    expect(lines.map((l) => l.text)).to.include(`Creating service ${swarmService}`);
    await page.getByText("running release v1").waitFor();
    await env.waitForReplicas("app", "1/1");
    expect(await env.drift("app")).to.deep.equal([]);
  });

  it("scales the service to 2 from the services table: 2/2 on the cluster, kept as desired state (no drift)", async () => {
    const env = new EnvironmentPage(page);
    await env.scale("app", 2);
    await env.waitForReplicas("app", "2/2");
    expect(await env.drift("app")).to.deep.equal([]);
    expect(await env.replicaOverride("app")).to.equal("scaled to 2");
    expect((await inspectService()).Spec.Mode.Replicated?.Replicas).to.equal(2);
  });

  it("shows a hand `docker service update --env-add X=1` as a 'drifted: env' badge, gone once it is undone", async () => {
    const env = new EnvironmentPage(page);
    await docker("service", "update", "--detach", "--env-add", "X=1", swarmService);
    await page.reload();
    expect(await env.drifted("app")).to.deep.equal({ badge: "drifted: env", fields: ["env X=1 added"] });
    await docker("service", "update", "--detach", "--env-rm", "X", swarmService);
    await page.reload();
    await env.waitForReplicas("app", "2/2");
    await until("the drift gone", async () => ((await env.drift("app")).length === 0 ? true : undefined), 15_000, 500);
  });

  it("deploys release 2 and keeps following its console across a page reload", async () => {
    const env = new EnvironmentPage(page);
    await uploadFromEnvironment(V2, "v2");
    const changes = await env.deploy(2);
    expect(changes.join("\n")).to.match(/changed\s+app/);
    await page.reload();
    await env.currentDeployment().getByRole("heading", { name: "Deploy of v2" }).waitFor();

    expect(await env.waitForDeploymentEnd()).to.equal("SUCCEEDED");
    const lines = await env.consoleLines();
    expect(lines[0]?.text, "replayed from the first event").to.equal(
      "queued: deploy of release v2 to environment prod",
    );
    const seqs = await env
      .currentDeployment()
      .locator(".console-line[data-seq]")
      .evaluateAll((ls) => ls.map((l) => Number(l.getAttribute("data-seq"))));
    expect(seqs).to.deep.equal(
      seqs.map((_, i) => seqs[0]! + i),
      "in order, no gap, no repeat",
    );
    expect(lines.some((l) => l.text.startsWith(`Updating service ${swarmService}`))).to.equal(true);
    expect((await inspectService()).Spec.TaskTemplate.ContainerSpec.Env).to.include("FEATURE=on");
    // The scale is the environment's desired state: the deploy of release 2 keeps it.
    await env.waitForReplicas("app", "2/2");
    expect(await env.history()).to.deep.equal([
      { status: "SUCCEEDED", release: "v2" },
      { status: "SUCCEEDED", release: "v1" },
    ]);
    expect(await env.waitForLogLine("app", /^started-v2$/)).to.equal("started-v2");

    await saveEnvironmentScreenshot(page);
  });

  it("rolls back to the previous successful release, warning that volumes and data are not rolled back", async () => {
    const env = new EnvironmentPage(page);
    const offered = await env.openRollback();
    expect(offered.warning).to.contain("Volumes and data are NOT rolled back");
    expect(offered.chosen).to.match(/^v1 · .*previous successful/);
    await env.confirmRollback(1);

    expect(await env.waitForDeploymentEnd()).to.equal("SUCCEEDED");
    const [first] = await env.consoleLines();
    expect(first?.tone).to.equal("warn");
    expect(first?.text).to.match(/volumes and data are NOT rolled back/i);
    await page.getByText("running release v1").waitFor();
    expect((await inspectService()).Spec.TaskTemplate.ContainerSpec.Env ?? []).to.not.include("FEATURE=on");
    expect((await env.history()).map((h) => `${h.status} ${h.release}`)).to.deep.equal([
      "SUCCEEDED v1",
      "SUCCEEDED v2",
      "SUCCEEDED v1",
    ]);
  });

  it("shows a deployment's own page with its whole event log, bookmarkable", async () => {
    const env = new EnvironmentPage(page);
    await env.openDeployment(0);
    expect(new URL(page.url()).pathname).to.match(new RegExp(`^/orgs/${org.orgId}/deployments/[0-9a-f-]{36}$`));
    await page.getByRole("heading", { level: 1, name: /Rollback to v1/ }).waitFor();
    const end = page.locator("[data-end]");
    await end.waitFor();
    expect(await end.getAttribute("data-end")).to.equal("SUCCEEDED");
    const before = await env.consoleLines(page.locator("main"));
    expect(before.length).to.be.greaterThan(3);
    expect(await page.getByRole("button", { name: "Cancel deployment" }).count()).to.equal(0);

    await page.reload();
    await end.waitFor();
    expect(await env.consoleLines(page.locator("main"))).to.deep.equal(before);
    await page.getByRole("link", { name: `← ${stackName} / prod` }).click();
    await page.getByRole("heading", { level: 1, name: `${stackName} / prod` }).waitFor();
  });

  it("cancels a deployment that waits for a service that can never be placed: CANCELED", async () => {
    const env = new EnvironmentPage(page);
    await uploadFromEnvironment(STUCK, "stuck");
    await env.deploy(3);
    await env.waitForConsoleLine(/waiting for services to converge/);
    await env.cancelCurrentDeployment();
    expect(await env.waitForDeploymentEnd()).to.equal("CANCELED");
    expect((await env.history())[0]).to.deep.equal({ status: "CANCELED", release: "v3" });
  });

  it("finds the deploys, the scale, the rollback and the cancel in the audit log", async () => {
    const audit = new AuditPage(page);
    await audit.navigate("Audit");
    const all = await audit.actions();
    expect(all).to.include.members([
      "deployment.create",
      "service.scale",
      "deployment.rollback",
      "deployment.cancel",
      "cluster.create",
    ]);
    await audit.filterByAction("deployment.*");
    const deploymentActions = await audit.actions();
    expect(deploymentActions).to.deep.equal([
      "deployment.cancel",
      "deployment.create",
      "deployment.rollback",
      "deployment.create",
      "deployment.create",
    ]);
  });

  it("shows the Docker events of these deploys (the service and its tasks) on the cluster page", async () => {
    const clusters = new ClustersPage(page);
    await clusters.navigate("Clusters");
    await clusters.open(clusterName);
    const cluster = new ClusterPage(page);
    expect(await cluster.waitForActivity(`${swarmService}.`)).to.match(/task/);
    const rows = await cluster.activityRows().allInnerTexts();
    expect(rows.some((r) => r.includes(swarmService) && /service/.test(r))).to.equal(true);
  });
});

/**
 * What the environment page says while a deployment runs and while the agent is offline, in a real browser
 * against everything real (built UI in Chromium, the control plane, the agent as a child process, this machine's
 * dockerd as a single-node Swarm):
 * - during a running deployment, Scale is disabled and says why; the deploy and rollback dialogs say the new one
 *   queues behind it, and that the rollback target is fixed now;
 * - after a graceful agent stop, the sync state reads "unknown (agent offline since …)", Scale and Logs are
 *   disabled with the reason, and the deploy dialog warns that the deployment will wait.
 *
 * The stack is named `uirt<random>`; `after` removes it from the Swarm.
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
import { until } from "../../services/_shared/testing/wait.js";
import {
  prepareSwarm,
  removeStack,
  spawnAgent,
  stopAgent,
  TEST_IMAGE,
  type AgentProcess,
} from "../../services/_shared/testing/swarm.js";
import { buildWeb, openBrowser, screenshotFailure, type BrowserSession, type BuiltWeb } from "./harness.js";
import { EnvironmentPage } from "./pages/EnvironmentPage.js";
import { LoginPage } from "./pages/LoginPage.js";

/** sleep as PID 1 ignores SIGTERM: each update waits out the old task's 15 s stop grace. */
const slowCompose = (command: string[]) => `services:
  app:
    image: ${TEST_IMAGE}
    command: ${JSON.stringify(command)}
    stop_grace_period: 15s
    deploy:
      replicas: 1
      update_config: { parallelism: 1, monitor: 1s }
      restart_policy: { condition: any, delay: 1s }
`;

describe("the environment page while a deployment runs and while the agent is offline (real browser, agent, Swarm)", function () {
  this.timeout(150_000);
  const stackName = `uirt${randomBytes(4).toString("hex")}`;
  let swarmStack = "";
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let built: BuiltWeb | undefined;
  let session: BrowserSession | undefined;
  let page: Page;
  let stateDir: string | undefined;
  let agent: AgentProcess | null = null;
  let clusterId = "";
  let envId = "";
  const releases: string[] = [];

  const auth = () => org.admin.auth;
  const deploymentStatus = async (id: string) =>
    (await api.get<{ status: string }>(`/v1/deployments/${id}`, auth())).body.status;
  const startDeploy = async (releaseId: string) => {
    const res = await api.request<{ id: string }>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId },
      headers: { ...auth(), "idempotency-key": randomBytes(8).toString("hex") },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return res.body.id;
  };
  const openEnvironment = async () => {
    await page.goto(`${platform.baseUrl}/orgs/${org.orgId}/environments/${envId}`);
    await page.getByRole("heading", { level: 1, name: `${stackName} / prod` }).waitFor();
    await page.locator('tr[data-service="app"]').waitFor({ timeout: 30_000 });
  };

  before(async function () {
    this.timeout(300_000);
    await prepareSwarm();
    built = await buildWeb();
    db = await createTestDb();
    nats = await startTestNatsServer();
    platform = await startTestPlatform(nats, { WEB_DIST_DIR: built.distDir });
    api = new ContractClient(platform.baseUrl);
    org = await createOrgWithAdmin(api);
    stateDir = await mkdtemp(join(tmpdir(), "stackyard-ui-rt-agent-"));
    const cluster = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { body: { name: "rt-ui-swarm" }, headers: auth() },
    );
    expect(cluster.status).to.equal(201);
    clusterId = cluster.body.cluster.id;
    const register = spawnAgent(["register", "--url", platform.baseUrl, "--state-dir", stateDir], {
      STACKYARD_AGENT_TOKEN: cluster.body.registrationToken,
    });
    expect(await register.exited, register.output.join("\n")).to.equal(0);
    agent = spawnAgent(["run", "--state-dir", stateDir], {
      STACKYARD_AGENT_HEARTBEAT_INTERVAL_MS: "1000",
      STACKYARD_AGENT_INVENTORY_DEBOUNCE_MS: "200",
      STACKYARD_AGENT_LOG_LEVEL: "info",
    });
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: stackName },
      headers: auth(),
    });
    expect(stack.status).to.equal(201);
    const env = await api.request<{ id: string; swarmStack: string }>(
      "POST",
      `/v1/stacks/${stack.body.id}/environments`,
      { body: { name: "prod", clusterId, imageResolution: "never", deployTimeoutSeconds: 90 }, headers: auth() },
    );
    expect(env.status, JSON.stringify(env.body)).to.equal(201);
    envId = env.body.id;
    swarmStack = env.body.swarmStack;
    for (const command of [
      ["sleep", "3600"],
      ["sleep", "3601"],
    ]) {
      const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
        body: { sourceType: "upload", composeYaml: slowCompose(command) },
        headers: auth(),
      });
      expect(release.status, JSON.stringify(release.body)).to.equal(201);
      releases.push(release.body.id);
    }
    const first = await startDeploy(releases[0]!);
    await until(
      "the first deployment to succeed",
      async () => ((await deploymentStatus(first)) === "SUCCEEDED" ? true : undefined),
      90_000,
      500,
    );
    session = await openBrowser();
    page = session.page;
    const login = new LoginPage(page, platform.baseUrl);
    await login.goto("/");
    await login.login(org.admin.email, TEST_PASSWORD);
  });

  afterEach(async function () {
    await screenshotFailure(this.currentTest, page, "runtime-truth");
    if (this.currentTest?.state === "failed" && agent) {
      console.error(`--- agent output (last 60 lines) ---\n${agent.output.slice(-60).join("\n")}`);
    }
  });

  after(async function () {
    this.timeout(120_000);
    await session?.close();
    await stopAgent(agent);
    if (swarmStack) await removeStack(swarmStack).catch((err: unknown) => console.error(String(err)));
    await platform?.stop();
    await nats?.stop();
    await db?.destroy();
    await built?.remove();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it("while a deployment runs: Scale is disabled and says why; Deploy and Roll back say they queue behind it", async () => {
    const running = await startDeploy(releases[1]!);
    await until("the deployment to run", async () =>
      (await deploymentStatus(running)) === "RUNNING" ? true : undefined,
    );
    await openEnvironment();
    const env = new EnvironmentPage(page);
    await env.currentDeployment().getByRole("heading", { name: "Deploy of v2" }).waitFor();

    expect(await env.serviceAction("app", "Scale")).to.deep.equal({
      enabled: false,
      reason: "deployment of v2 is running; scale when it ends",
    });
    expect((await env.serviceAction("app", "Logs")).enabled).to.equal(true);
    expect(await env.runtimeBlocked().innerText()).to.equal(
      "Scale is unavailable: deployment of v2 is running; scale when it ends",
    );

    const deploy = await env.openReleaseDialog("deploy");
    const deployNotice = await deploy.getByTestId("queue-notice").innerText();
    expect(deployNotice).to.match(/^Deployment of v2 is running\./);
    expect(deployNotice).to.contain("This deployment is queued behind it and starts when it ends.");
    await deploy.getByRole("button", { name: /^Queue: Deploy v\d$/ }).waitFor();
    await env.closeDialog(deploy);

    const rollback = await env.openReleaseDialog("rollback");
    const rollbackNotice = await rollback.getByTestId("queue-notice").innerText();
    expect(rollbackNotice).to.contain("This rollback is queued behind it and starts when it ends.");
    expect(rollbackNotice).to.match(/It goes back to v\d, fixed now: the target does not change/);
    await rollback.getByRole("button", { name: /^Queue: Roll back to v\d$/ }).waitFor();
    await env.closeDialog(rollback);

    await until(
      "the deployment to end",
      async () => ((await deploymentStatus(running)) === "SUCCEEDED" ? true : undefined),
      90_000,
      500,
    );
    await page.reload();
    await page.locator('tr[data-service="app"]').waitFor({ timeout: 30_000 });
    await until("Scale to be enabled again", async () =>
      (await env.serviceAction("app", "Scale")).enabled ? true : undefined,
    );
  });

  it("after a graceful agent stop: sync unknown with since when, Scale and Logs disabled with why, Deploy warns", async () => {
    await stopAgent(agent);
    agent = null;
    await openEnvironment();
    const env = new EnvironmentPage(page);
    const services = page.getByRole("region", { name: "Services" });
    const badge = services.getByTestId("sync-unknown");
    await badge.waitFor({ timeout: 15_000 });
    const sync = await badge.innerText();
    expect(sync, sync).to.match(/^unknown \(agent offline since .*\d{1,2}:\d\d:\d\d.*\)$/i);
    expect(await badge.getAttribute("title")).to.match(/^unknown \(agent offline since \d{4}-\d\d-\d\dT/);
    expect(await services.getByText("in sync", { exact: true }).count()).to.equal(0);
    await services.getByTestId("agent-offline").waitFor();

    const scale = await env.serviceAction("app", "Scale");
    const logs = await env.serviceAction("app", "Logs");
    expect(scale.enabled).to.equal(false);
    expect(logs.enabled).to.equal(false);
    expect(scale.reason).to.match(/^the cluster's agent is offline since /);
    expect(logs.reason).to.equal(scale.reason);
    expect(await env.runtimeBlocked().innerText()).to.match(
      /^Scale and Logs are unavailable: the cluster's agent is offline since /,
    );

    const deploy = await env.openReleaseDialog("deploy");
    expect(await deploy.getByTestId("agent-offline-notice").innerText()).to.match(
      /^The cluster's agent is offline since .*\n*The deployment waits for the agent to connect, and fails if it does not connect in time\.$/s,
    );
    await env.closeDialog(deploy);
  });
});

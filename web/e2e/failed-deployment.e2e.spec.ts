/**
 * A failed deployment's page in a real browser, against the real control plane, agent and Swarm: the headline is
 * the root cause, the console says "deployment failed" once, and the page offers Roll back / Redeploy / Open
 * logs; the environment's failure policy is chosen in its settings, and an automatic rollback is linked both ways.
 * The stack, cluster and releases are set up through the API; everything checked is what the browser shows.
 *
 * The stack is `uf<random>`, the Swarm stack `uf<random>-prod`; `after` removes it.
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
  docker,
  prepareSwarm,
  removeStack,
  spawnAgent,
  stopAgent,
  testStackCompose as compose,
  type AgentProcess,
} from "../../services/_shared/testing/swarm.js";
import { until } from "../../services/_shared/testing/wait.js";
import { buildWeb, openBrowser, screenshotFailure, type BrowserSession, type BuiltWeb } from "./harness.js";
import { DeploymentPage } from "./pages/DeploymentPage.js";
import { LoginPage } from "./pages/LoginPage.js";

interface Deployment {
  id: string;
  status: string;
  releaseId: string;
  kind: string;
  rollbackOf: string | null;
  rolledBackBy?: string | null;
}

describe("a failed deployment's page in a real browser (real control plane, agent and Swarm)", function () {
  this.timeout(180_000);
  const stackName = `uf${randomBytes(4).toString("hex")}`;
  const swarmStack = `${stackName}-prod`;
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
  let envId = "";
  const releases = { v1: "", crash: "" };

  const auth = () => org.admin.auth;
  const deploy = async (releaseId: string) => {
    const res = await api.request<Deployment>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId },
      headers: { ...auth(), "idempotency-key": randomBytes(8).toString("hex") },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return res.body.id;
  };
  const getDeployment = async (id: string) => (await api.get<Deployment>(`/v1/deployments/${id}`, auth())).body;
  const waitForEnd = (id: string) =>
    until(
      `deployment ${id} to end`,
      async () => {
        const d = await getDeployment(id);
        return d.status === "PENDING" || d.status === "RUNNING" ? undefined : d;
      },
      90_000,
      300,
    );
  const deploymentPage = () => new DeploymentPage(page);

  before(async function () {
    this.timeout(300_000);
    await prepareSwarm();
    built = await buildWeb();
    db = await createTestDb();
    nats = await startTestNatsServer();
    platform = await startTestPlatform(nats, { WEB_DIST_DIR: built.distDir });
    api = new ContractClient(platform.baseUrl);
    org = await createOrgWithAdmin(api);
    stateDir = await mkdtemp(join(tmpdir(), "stackyard-uf-agent-"));
    const cluster = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { body: { name: "uf-swarm" }, headers: auth() },
    );
    const register = spawnAgent(["register", "--url", platform.baseUrl, "--state-dir", stateDir], {
      STACKYARD_AGENT_TOKEN: cluster.body.registrationToken,
    });
    expect(await register.exited, register.output.join("\n")).to.equal(0);
    agent = spawnAgent(["run", "--state-dir", stateDir], { STACKYARD_AGENT_HEARTBEAT_INTERVAL_MS: "1000" });
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: stackName },
      headers: auth(),
    });
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      body: { name: "prod", clusterId: cluster.body.cluster.id, imageResolution: "never", deployTimeoutSeconds: 60 },
      headers: auth(),
    });
    expect(env.status).to.equal(201);
    envId = env.body.id;
    const release = async (composeYaml: string) =>
      (
        await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
          body: { sourceType: "upload", composeYaml },
          headers: auth(),
        })
      ).body.id;
    releases.v1 = await release(compose({ command: ["sleep", "3600"], replicas: 1 }));
    releases.crash = await release(compose({ command: ["sh", "-c", "echo about to crash >&2; exit 1"], replicas: 1 }));
    await until(
      "the cluster online",
      async () =>
        (await api.get<{ status: string }>(`/v1/orgs/${org.orgId}/clusters/${cluster.body.cluster.id}`, auth())).body
          .status === "online"
          ? true
          : undefined,
      30_000,
      500,
    );
    expect((await waitForEnd(await deploy(releases.v1))).status).to.equal("SUCCEEDED");

    session = await openBrowser({ defaultTimeoutMs: 15_000 });
    page = session.page;
    const login = new LoginPage(page, platform.baseUrl);
    await login.goto("/");
    await login.login(org.admin.email, TEST_PASSWORD);
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

  afterEach(async function () {
    await screenshotFailure(this.currentTest, page, "failed-deployment");
  });

  it("sets the environment's failure policy to pause in its settings", async () => {
    await page.goto(`${platform.baseUrl}/orgs/${org.orgId}/environments/${envId}`);
    await page.getByRole("button", { name: "Settings…" }).click();
    const dialog = page.getByRole("dialog");
    const select = dialog.getByLabel("When a deployment fails");
    expect(await select.inputValue(), "rollback is the default").to.equal("rollback");
    await select.selectOption("pause");
    await dialog.getByText("Leave the stack as the failure left it").waitFor();
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "detached" });
    const env = await api.get<{ onFailure: string }>(`/v1/environments/${envId}`, auth());
    expect(env.body.onFailure).to.equal("pause");
  });

  it("shows the root cause once and offers Open logs, Redeploy and Roll back, which work", async () => {
    const failedId = await deploy(releases.crash);
    const view = deploymentPage();
    await view.goto(platform.baseUrl, org.orgId, failedId);
    expect(await view.waitForEnd()).to.equal("FAILED");
    await view.outcome().waitFor();
    const headline = await view.headline();
    expect(headline).to.match(/non-zero exit \(1\)/);
    expect(headline).not.to.match(/^deployment failed|early termination of task/);
    expect(await view.consoleLines(/^deployment failed/).count(), "one terminal line").to.equal(1);
    expect(await view.consoleLines(/detach/i).count(), "no --detach warnings").to.equal(0);
    await view.consoleLines(/^failure policy pause/).waitFor();

    // Open logs: the one service's last lines, fetched by the agent
    await view.nextSteps().getByRole("button", { name: "Open logs" }).click();
    const logs = page.getByRole("dialog", { name: /^Logs of / });
    await logs.waitFor();
    await logs.getByText("about to crash").first().waitFor();
    await logs.getByRole("button", { name: "Done" }).click();

    // Redeploy: the same release again, as a new deployment; it fails the same way
    const redeployId = await view.confirmNextStep(/^Redeploy$/, /^Redeploy$/);
    expect(redeployId).to.not.equal(failedId);
    expect((await getDeployment(redeployId)).releaseId).to.equal(releases.crash);
    expect(await view.waitForEnd()).to.equal("FAILED");

    // Roll back: to the environment's last successful release
    const rollbackId = await view.confirmNextStep(/^Roll back to v1$/, /^Roll back to v1$/);
    await page.getByRole("heading", { level: 1, name: /Rollback to v1/ }).waitFor();
    expect(await view.waitForEnd()).to.equal("SUCCEEDED");
    expect(await getDeployment(rollbackId)).to.deep.include({ kind: "rollback", releaseId: releases.v1 });
    const running = await docker(
      "service",
      "ls",
      "--filter",
      `label=com.docker.stack.namespace=${swarmStack}`,
      "--format",
      "{{.Replicas}}",
    );
    expect(running).to.equal("1/1");
  });

  it("with the rollback policy, links the failed deployment and its automatic rollback both ways", async () => {
    const patched = await api.request("PATCH", `/v1/environments/${envId}`, {
      body: { onFailure: "rollback" },
      headers: auth(),
    });
    expect(patched.status).to.equal(200);
    const failedId = await deploy(releases.crash);
    const view = deploymentPage();
    await view.goto(platform.baseUrl, org.orgId, failedId);
    expect(await view.waitForEnd()).to.equal("FAILED");
    const link = view.outcome().getByRole("link", { name: "see the rollback deployment" });
    await link.waitFor();
    await link.click();
    await page.getByRole("heading", { level: 1, name: /Rollback to v1/ }).waitFor();
    await page.getByRole("note").getByText("An automatic rollback").waitFor();
    expect(await view.waitForEnd()).to.equal("SUCCEEDED");
    await page.getByRole("note").getByRole("link", { name: "a failed deployment" }).click();
    await page.waitForURL((url) => url.pathname.endsWith(`/deployments/${failedId}`));
  });
});

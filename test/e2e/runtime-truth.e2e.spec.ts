/**
 * Runtime operations tell the truth, end to end on the real single-node Swarm (real control plane, real agent,
 * real dockerd):
 * - a scale during a running deployment is refused at once (409 ENVIRONMENT_BUSY naming the deployment), with no
 *   broker text, and is not applied later;
 * - a scale is desired state: kept in the environment, clean in drift, and kept by the next deploy;
 * - full drift: a fresh deploy compares in sync field by field, a hand `docker service update --env-add X=1` is
 *   drift on `env`, and Swarm's update state is in the status;
 * - a graceful agent stop (SIGTERM) shows the cluster offline within 2 s, and while offline the environment's
 *   sync state is "unknown (agent offline since …)" and a scale answers at once that it was not done.
 *
 * Everything is named `rt<random>…`; `after` removes what is left.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Db } from "../../services/_shared/db.js";
import { createOrgWithAdmin, type TestOrg } from "../../services/_shared/testing/fixtures.js";
import type { ContractClient } from "../../services/_shared/testing/http.js";
import type { TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import type { TestPlatform } from "../../services/_shared/testing/platform.js";
import {
  docker,
  prepareSwarm,
  removeStack,
  spawnAgent,
  stopAgent,
  TEST_IMAGE,
  type AgentProcess,
} from "../../services/_shared/testing/swarm.js";
import { sleep, until as untilEvery } from "../../services/_shared/testing/wait.js";
import { startTestStack, stopTestStack } from "../../services/_shared/testing/stack.js";

const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> =>
  untilEvery(what, probe, timeoutMs, 200);

interface Deployment {
  id: string;
  status: string;
  errorMessage: string | null;
}
interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}
interface Status {
  source: string;
  inSync: boolean | null;
  sync: { state: string; reason: string };
  agent: { status: string; offlineSince: string | null };
  replicaOverrides: Record<string, number>;
  driftComparison: "full" | "partial" | null;
  extraServices: string[];
  services: Array<{
    name: string;
    desiredReplicas: number;
    replicaOverride: number | null;
    drift: string[];
    driftFields: Array<{ field: string; desired: unknown; live: unknown; summary: string }>;
    comparison: "full" | "partial";
    updateStatus: { state: string; message: string } | null;
  }>;
}

/** The old task takes its full stop grace (sleep as PID 1 ignores SIGTERM): an update that runs for seconds. */
const slowCompose = (command: string[]) => `services:
  app:
    image: ${TEST_IMAGE}
    command: ${JSON.stringify(command)}
    stop_grace_period: 8s
    deploy:
      replicas: 1
      update_config: { parallelism: 1, monitor: 1s }
      restart_policy: { condition: any, delay: 1s }
`;

/** What must never reach a client: Moleculer's wording and node names. */
const BROKER_TEXT = /when call|action on '|node '|nodeID|Moleculer/i;

describe("runtime operations are truthful (real agent, real Swarm)", function () {
  this.timeout(180_000);
  const stackName = `rt${randomBytes(4).toString("hex")}`;
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let stateDir: string;
  let agent: AgentProcess | null = null;
  let clusterId: string;
  let envId: string;
  let swarmStack = "";
  const releases = { v1: "", v2: "" };

  const auth = () => org.admin.auth;
  const swarmService = () => `${swarmStack}_app`;
  const replicas = async () =>
    (
      JSON.parse(await docker("service", "inspect", swarmService())) as Array<{
        Spec: { Mode: { Replicated?: { Replicas: number } } };
      }>
    )[0]!.Spec.Mode.Replicated?.Replicas;
  const getDeployment = async (id: string) => (await api.get<Deployment>(`/v1/deployments/${id}`, auth())).body;
  const startDeploy = async (releaseId: string) => {
    const res = await api.request<Deployment>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId },
      headers: { ...auth(), "idempotency-key": randomBytes(8).toString("hex") },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return res.body;
  };
  const waitEnd = (id: string) =>
    until(`deployment ${id} to end`, async () => {
      const d = await getDeployment(id);
      return d.status === "PENDING" || d.status === "RUNNING" ? undefined : d;
    });
  const scale = (n: number) =>
    api.request<ErrorBody & { replicas: number }>("POST", `/v1/environments/${envId}/services/app/scale`, {
      body: { replicas: n },
      headers: auth(),
    });
  const scaleAudits = async () =>
    (
      await api.get<{ items: Array<{ action: string; data: Record<string, unknown> }> }>(
        `/v1/orgs/${org.orgId}/audit?limit=100`,
        auth(),
      )
    ).body.items.filter((a) => a.action === "service.scale");

  const startAgent = () =>
    spawnAgent(["run", "--state-dir", stateDir], {
      STACKYARD_AGENT_HEARTBEAT_INTERVAL_MS: "1000",
      STACKYARD_AGENT_INVENTORY_DEBOUNCE_MS: "200",
      STACKYARD_AGENT_LOG_LEVEL: "info",
    });
  const clusterStatus = async () =>
    (await api.get<{ status: string }>(`/v1/orgs/${org.orgId}/clusters/${clusterId}`, auth())).body.status;

  before(async function () {
    this.timeout(240_000);
    await prepareSwarm();
    ({ db, nats, platform, api } = await startTestStack());
    org = await createOrgWithAdmin(api);
    stateDir = await mkdtemp(join(tmpdir(), "stackyard-e2e-rt-agent-"));
    const cluster = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { body: { name: "rt-swarm" }, headers: auth() },
    );
    expect(cluster.status).to.equal(201);
    clusterId = cluster.body.cluster.id;
    const register = spawnAgent(["register", "--url", platform.baseUrl, "--state-dir", stateDir], {
      STACKYARD_AGENT_TOKEN: cluster.body.registrationToken,
    });
    expect(await register.exited, register.output.join("\n")).to.equal(0);
    agent = startAgent();
    await until("the cluster online", async () => ((await clusterStatus()) === "online" ? true : undefined)).catch(
      async (err: unknown) => {
        throw new Error(`${String(err)} (status ${await clusterStatus()}); agent:\n${agent?.output.join("\n")}`);
      },
    );
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
    for (const [key, command] of [
      ["v1", ["sleep", "3600"]],
      ["v2", ["sleep", "3601"]],
    ] as const) {
      const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
        body: { sourceType: "upload", composeYaml: slowCompose([...command]) },
        headers: auth(),
      });
      expect(release.status, JSON.stringify(release.body)).to.equal(201);
      releases[key] = release.body.id;
    }
    const first = await waitEnd((await startDeploy(releases.v1)).id);
    expect(first.status, first.errorMessage ?? "").to.equal("SUCCEEDED");
  });

  after(async function () {
    this.timeout(120_000);
    await stopAgent(agent);
    if (swarmStack) await removeStack(swarmStack).catch((err: unknown) => console.error(String(err)));
    await stopTestStack({ db, nats, platform });
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed" && agent) {
      console.error(`--- agent output (last 60 lines) ---\n${agent.output.slice(-60).join("\n")}`);
    }
  });

  it("1. refuses a scale during a running deployment at once (409 ENVIRONMENT_BUSY), and never applies it later", async () => {
    const deployment = await startDeploy(releases.v2);
    await until("the deployment to run", async () =>
      (await getDeployment(deployment.id)).status === "RUNNING" ? true : undefined,
    );
    const started = Date.now();
    const res = await scale(3);
    const tookMs = Date.now() - started;
    console.log(`      scale during a deploy answered ${res.status} in ${tookMs} ms`);
    expect(res.status, JSON.stringify(res.body)).to.equal(409);
    expect(tookMs, "answered at once, not after a timeout").to.be.lessThan(3_000);
    expect(res.body.error.code).to.equal("ENVIRONMENT_BUSY");
    expect(res.body.error.details).to.deep.equal({ deploymentId: deployment.id, status: "RUNNING" });
    expect(res.body.error.message).to.include(deployment.id);
    expect(JSON.stringify(res.body)).to.not.match(BROKER_TEXT);

    const done = await waitEnd(deployment.id);
    expect(done.status, done.errorMessage ?? "").to.equal("SUCCEEDED");
    // The refused scale does not happen after the deployment.
    await sleep(5_000);
    expect(await replicas()).to.equal(1);
    expect(await scaleAudits(), "nothing was scaled, so nothing is audited").to.deep.equal([]);
  });

  it("2. keeps a scale as desired state: audited, clean in drift, and kept by the next deploy", async () => {
    const res = await scale(2);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.replicas).to.equal(2);
    const env = await api.get<{ replicaOverrides: Record<string, number> }>(`/v1/environments/${envId}`, auth());
    expect(env.body.replicaOverrides).to.deep.equal({ app: 2 });
    const status = (await api.get<Status>(`/v1/environments/${envId}/status`, auth())).body;
    expect(status.sync.state, JSON.stringify(status)).to.equal("in_sync");
    expect(status.services[0]).to.deep.include({ name: "app", desiredReplicas: 2, replicaOverride: 2, drift: [] });
    const [audit] = await scaleAudits();
    expect(audit?.data).to.deep.include({ service: "app", requested: 2, outcome: "succeeded", desiredState: true });

    const redeploy = await waitEnd((await startDeploy(releases.v2)).id);
    expect(redeploy.status, redeploy.errorMessage ?? "").to.equal("SUCCEEDED");
    expect(await replicas(), "the redeploy kept the scale").to.equal(2);
  });

  it("2b. reports full drift: in sync after a deploy, a hand `docker service update --env-add X=1` is drift on env", async () => {
    const fresh = (await api.get<Status>(`/v1/environments/${envId}/status`, auth())).body;
    expect(fresh.sync.state, JSON.stringify(fresh)).to.equal("in_sync");
    expect(fresh.driftComparison).to.equal("full");
    expect(fresh.extraServices).to.deep.equal([]);
    expect(fresh.services[0]).to.deep.include({ comparison: "full", driftFields: [] });

    await docker("service", "update", "--detach", "--env-add", "X=1", swarmService());
    const drifted = (await api.get<Status>(`/v1/environments/${envId}/status`, auth())).body;
    expect(drifted.sync.state).to.equal("drifted");
    expect(drifted.inSync).to.equal(false);
    expect(drifted.services[0]!.driftFields.map((f) => f.field)).to.deep.equal(["env"]);
    expect(drifted.services[0]!.driftFields[0]).to.deep.include({
      summary: "env X=1 added",
      desired: [],
      live: ["X=1"],
    });
    expect(drifted.services[0]!.drift).to.deep.equal(["env X=1 added"]);
    // The hand update rolls the tasks (an 8 s stop grace): Swarm's update state is in the status, not only in events.
    expect(drifted.services[0]!.updateStatus).to.deep.include({ state: "updating", message: "update in progress" });

    await docker("service", "update", "--detach", "--env-rm", "X", swarmService());
    const back = (await api.get<Status>(`/v1/environments/${envId}/status`, auth())).body;
    expect(back.sync.state, JSON.stringify(back.services[0]?.drift)).to.equal("in_sync");
  });

  it("3. shows the cluster offline within 2 s of a graceful agent stop; status is unknown, scale says not done", async () => {
    const child = agent!;
    const started = Date.now();
    child.child.kill("SIGTERM");
    await until("the cluster offline", async () => ((await clusterStatus()) === "offline" ? true : undefined), 10_000);
    const offlineAfterMs = Date.now() - started;
    console.log(`      graceful stop → cluster offline in ${offlineAfterMs} ms`);
    expect(offlineAfterMs).to.be.at.most(2_000);
    await Promise.race([child.exited, sleep(15_000)]);

    const status = (await api.get<Status>(`/v1/environments/${envId}/status`, auth())).body;
    expect(status.source).to.equal("inventory");
    expect(status.inSync).to.equal(null);
    expect(status.sync.state).to.equal("unknown");
    expect(status.agent.status).to.equal("offline");
    expect(status.sync.reason).to.equal(`unknown (agent offline since ${status.agent.offlineSince})`);

    const offlineStarted = Date.now();
    const res = await scale(3);
    expect(res.status, JSON.stringify(res.body)).to.equal(503);
    expect(Date.now() - offlineStarted).to.be.lessThan(3_000);
    expect(res.body.error.code).to.equal("AGENT_UNREACHABLE");
    expect(res.body.error.message).to.match(/not scaled/);
    expect(JSON.stringify(res.body)).to.not.match(BROKER_TEXT);

    // Back: online again at its first heartbeat, and the scale that was refused did not happen.
    agent = startAgent();
    await until("the cluster online again", async () => ((await clusterStatus()) === "online" ? true : undefined));
    expect(await replicas()).to.equal(2);
  });
});

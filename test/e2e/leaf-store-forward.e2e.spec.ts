/**
 * Store and forward through a WAN cut, with real processes: the control plane (every service in-process, real
 * Postgres, a real nats-server hub), the real agent as a child process in leaf mode (it runs its own nats-server as a
 * leaf of the hub) and this machine's dockerd in Swarm mode. The leaf reaches the hub only through a TCP relay
 * standing in for the WAN (the hub advertises the relay, so the leaf knows no way round it); the test cuts it for
 * 20 s right after the deployment started on the cluster and restores it. The deploy goes on on the cluster, its
 * events wait in the leaf's JetStream, the cluster shows link_down meanwhile (and online again after), and once the
 * link is back every one of them reaches Postgres once, in order, and the deployment ends SUCCEEDED.
 *
 * The stack is `leaf<random>` with environment `prod` (Swarm stack `leaf<random>-prod`); `after` removes it.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { AckPolicy, DeliverPolicy, connect, credsAuthenticator, nanos } from "nats";
import { decodeDeploymentEvents } from "../../nats/protocol/messages.js";
import { AGENT_EVENTS_STREAM, agentSubjects } from "../../nats/protocol/subjects.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWanLink, type WanLink } from "../../agent/src/testing/wan.js";
import type { Db } from "../../services/_shared/db.js";
import { createOrgWithAdmin, type TestOrg } from "../../services/_shared/testing/fixtures.js";
import { ContractClient } from "../../services/_shared/testing/http.js";
import { freePort, type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { type TestPlatform } from "../../services/_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../../services/_shared/testing/stack.js";
import {
  docker,
  prepareSwarm,
  removeStack,
  spawnAgent,
  stopAgent,
  testStackCompose as compose,
  type AgentProcess,
} from "../../services/_shared/testing/swarm.js";
import { sleep, until as untilEvery } from "../../services/_shared/testing/wait.js";

const CUT_MS = 20_000;
const POLL_MS = 300;
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> =>
  untilEvery(what, probe, timeoutMs, POLL_MS);

interface Deployment {
  id: string;
  status: "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELED";
  errorMessage: string | null;
}

describe("store and forward: a leaf-mode agent deploys through a 20 s WAN cut (real leaf, hub, Swarm)", function () {
  this.timeout(120_000);
  const stackName = `leaf${randomBytes(4).toString("hex")}`;
  const swarmStack = `${stackName}-prod`;
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let wan: WanLink;
  let stateDir: string;
  let agent: AgentProcess | null = null;
  let envId: string;
  let releaseId: string;
  let clusterId: string;

  /** The seq of every event the hub's stream holds for a deployment, in stream order. */
  async function hubStreamSeqs(cluster: string, deploymentId: string): Promise<number[]> {
    const nc = await connect({
      servers: nats.url,
      tls: nats.tls,
      authenticator: credsAuthenticator(await readFile(nats.controlPlaneCredsFile)),
    });
    try {
      const jsm = await nc.jetstreamManager();
      const consumer = await jsm.consumers.add(AGENT_EVENTS_STREAM.name, {
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.All,
        filter_subject: agentSubjects(cluster).deploymentEvents(deploymentId),
        inactive_threshold: nanos(10_000),
      });
      const seqs: number[] = [];
      if (consumer.num_pending === 0) return seqs;
      const c = await nc.jetstream().consumers.get(AGENT_EVENTS_STREAM.name, consumer.name);
      let seen = 0;
      for await (const m of await c.fetch({ max_messages: consumer.num_pending, expires: 5_000 })) {
        seqs.push(...decodeDeploymentEvents(m.data).map((e) => e.seq));
        if (++seen >= consumer.num_pending) break;
      }
      return seqs;
    } finally {
      await nc.close();
    }
  }
  const auth = () => org.admin.auth;

  before(async function () {
    this.timeout(180_000);
    await prepareSwarm();
    wan = await startWanLink();
    ({ db, nats, platform, api } = await startTestStack(
      { CLUSTER_OFFLINE_AFTER_SECONDS: "6" },
      { nats: { leafnodeAdvertise: `127.0.0.1:${wan.port}` } },
    ));
    wan.setTarget("127.0.0.1", Number(new URL(nats.leafUrl.replace(/^tls:/, "http:")).port));
    org = await createOrgWithAdmin(api);
    stateDir = await mkdtemp(join(tmpdir(), "stackyard-leaf-e2e-"));

    const cluster = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { body: { name: "leaf-swarm" }, headers: auth() },
    );
    expect(cluster.status).to.equal(201);
    clusterId = cluster.body.cluster.id;
    const register = spawnAgent(["register", "--url", platform.baseUrl, "--state-dir", stateDir], {
      STACKYARD_AGENT_TOKEN: cluster.body.registrationToken,
    });
    expect(await register.exited, register.output.join("\n")).to.equal(0);

    agent = spawnAgent(
      [
        "run",
        "--state-dir",
        stateDir,
        "--nats-mode",
        "leaf",
        "--leaf-hub-url",
        `tls://127.0.0.1:${wan.port}`,
        "--leaf-port",
        String(await freePort()),
      ],
      { STACKYARD_AGENT_HEARTBEAT_INTERVAL_MS: "1000", STACKYARD_AGENT_LOG_LEVEL: "info" },
    );
    await until(
      "the cluster online through the leaf",
      async () => {
        const res = await api.get<{ status: string }>(`/v1/orgs/${org.orgId}/clusters/${clusterId}`, auth());
        return res.body.status === "online" ? true : undefined;
      },
      30_000,
    ).catch((err: unknown) => {
      console.error(`--- agent output (last 80 lines) ---\n${agent?.output.slice(-80).join("\n")}`);
      throw err;
    });

    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: stackName },
      headers: auth(),
    });
    expect(stack.status).to.equal(201);
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      body: { name: "prod", clusterId, imageResolution: "never", deployTimeoutSeconds: 90, onFailure: "pause" },
      headers: auth(),
    });
    expect(env.status).to.equal(201);
    envId = env.body.id;
    const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
      body: { sourceType: "upload", composeYaml: compose({ command: ["sleep", "3600"], replicas: 2 }) },
      headers: auth(),
    });
    expect(release.status, JSON.stringify(release.body)).to.equal(201);
    releaseId = release.body.id;
  });

  after(async function () {
    this.timeout(120_000);
    await stopAgent(agent);
    await removeStack(swarmStack).catch((err: unknown) => console.error(String(err)));
    await wan?.close();
    await stopTestStack({ db, nats, platform });
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed" && agent) {
      console.error(`--- agent output (last 80 lines) ---\n${agent.output.slice(-80).join("\n")}`);
    }
  });

  it("loses nothing: every event once, in order, and the deployment SUCCEEDED", async () => {
    const created = await api.request<Deployment>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId },
      headers: { ...auth(), "idempotency-key": randomBytes(8).toString("hex") },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(202);
    const id = created.body.id;
    const getDeployment = async () => (await api.get<Deployment>(`/v1/deployments/${id}`, auth())).body;
    // The agent took the command (it answered `started`): the deploy is on the cluster's side now.
    await until(
      "the deployment to start",
      async () => ((await getDeployment()).status === "RUNNING" ? true : undefined),
      30_000,
    );

    wan.cut();
    const cutAt = Date.now();
    // What the hub had stored before the cut is written within moments; from then on the count must not move.
    await sleep(3_000);
    const count = async () =>
      Number((await db("deployment_events").where({ deployment_id: id }).count("* as n"))[0]!.n);
    const storedAtCut = await count();
    await sleep(CUT_MS / 2 - 3_000);
    // The deploy went on without the hub: Swarm has the stack's service, created by the agent during the cut.
    const services = await docker(
      "service",
      "ls",
      "--format",
      "{{.Name}}",
      "--filter",
      `label=com.docker.stack.namespace=${swarmStack}`,
    );
    expect(services, "the deploy continued on the cluster").to.include(`${swarmStack}_app`);
    // The hub has no link from the leaf and no heartbeat: the cluster shows link down, not offline.
    const clusterPath = `/v1/orgs/${org.orgId}/clusters/${clusterId}`;
    const clusterStatus = async () => (await api.get<{ status: string }>(clusterPath, auth())).body.status;
    await until(
      "the cluster link_down during the cut",
      async () => ((await clusterStatus()) === "link_down" ? true : undefined),
      Math.max(1_000, CUT_MS - (Date.now() - cutAt) - 1_000),
    );
    await sleep(Math.max(0, CUT_MS - (Date.now() - cutAt)));
    expect(await clusterStatus(), "still link down at the end of the cut").to.equal("link_down");
    const duringCut = await getDeployment();
    expect(duringCut.status, "the outcome waits on the leaf").to.equal("RUNNING");
    const storedDuringCut = await count();
    expect(storedDuringCut, "nothing crossed the cut link").to.equal(storedAtCut);
    wan.restore();
    await until(
      "the cluster online once the link is back",
      async () => ((await clusterStatus()) === "online" ? true : undefined),
      30_000,
    );

    const final = await until(
      "the deployment to end",
      async () => {
        const d = await getDeployment();
        return d.status === "RUNNING" || d.status === "PENDING" ? undefined : d;
      },
      60_000,
    );
    expect(final.status, String(final.errorMessage)).to.equal("SUCCEEDED");
    await sleep(1_000);
    const rows = (await db("deployment_events").where({ deployment_id: id }).select("seq")) as Array<{
      seq: string | number;
    }>;
    const seqs = rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
    expect(seqs.length, "more events arrived after the cut").to.be.greaterThan(storedAtCut);
    expect(new Set(seqs).size, "no duplicates").to.equal(seqs.length);
    expect(seqs, "contiguous").to.deep.equal(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
    // In order: the hub's stream holds the agent's events in the order the agent numbered them, each once.
    const arrived = await hubStreamSeqs(clusterId, id);
    expect(arrived, "arrived in order, once each").to.deep.equal([...arrived].sort((a, b) => a - b));
    expect(new Set(arrived).size).to.equal(arrived.length);
    expect(arrived.every((s) => seqs.includes(s))).to.equal(true);
  });
});

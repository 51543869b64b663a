/**
 * The control plane in its production topology, all real processes: a 3-node NATS cluster (our template, TLS routes,
 * R3 streams), two gateways, two service processes and two deploy workers (services/main.ts with SERVICES), the
 * real agent on this machine's Swarm. One deploy, and mid-deploy: the events stream's leader NATS node SIGKILLed,
 * then a gateway, then a worker. The deploy succeeds, every event is in Postgres once with contiguous seqs, an SSE
 * client of the surviving gateway streams everything once, and a client of the killed gateway resumes on the other
 * with Last-Event-ID and gets the rest without gap or duplicate. Prints the recovery times.
 *
 * Run by `make test-ha` (scripts/test-ha.sh), not by `make test`: the file is not a *.spec.ts.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Db } from "../../services/_shared/db.js";
import { REPO_ROOT } from "../../services/_shared/paths.js";
import { testDatabaseUrl, createTestDb } from "../../services/_shared/testing/database.js";
import { createOrgWithAdmin, waitForClusterOnline, type TestOrg } from "../../services/_shared/testing/fixtures.js";
import { ContractClient } from "../../services/_shared/testing/http.js";
import { startTestNatsCluster, type TestNatsCluster } from "../../services/_shared/testing/nats-cluster.js";
import { freePort } from "../../services/_shared/testing/nats-server.js";
import { TEST_BOOTSTRAP_TOKEN, TEST_JWT_KEYS, TEST_MASTER_KEY } from "../../services/_shared/testing/platform.js";
import {
  prepareSwarm,
  removeStack,
  spawnAgent,
  stopAgent,
  TEST_IMAGE,
  type AgentProcess,
} from "../../services/_shared/testing/swarm.js";
import { sleep, until } from "../../services/_shared/testing/wait.js";
import { AGENT_EVENTS_STREAM } from "../../nats/protocol/subjects.js";

const MAIN = join(REPO_ROOT, "services/main.ts");

interface CpProcess {
  name: string;
  child: ChildProcess;
  output: string[];
  exited: Promise<void>;
  port?: number;
}

interface Deployment {
  id: string;
  status: string;
  errorMessage: string | null;
}

/** One SSE reader of a deployment's events: the seqs it got, in order, and whether the stream ended normally. */
class SseClient {
  readonly seqs: number[] = [];
  ended = false;
  failed: string | null = null;
  lastEventAt = 0;
  done: Promise<void>;
  private readonly abort = new AbortController();

  constructor(baseUrl: string, path: string, headers: Record<string, string>, lastEventId?: number) {
    this.done = this.read(baseUrl + path, {
      ...headers,
      accept: "text/event-stream",
      ...(lastEventId !== undefined ? { "last-event-id": String(lastEventId) } : {}),
    });
  }

  private async read(url: string, headers: Record<string, string>): Promise<void> {
    try {
      const res = await fetch(url, { headers, signal: this.abort.signal });
      if (res.status !== 200 || !res.body) throw new Error(`SSE answered ${res.status}`);
      const decoder = new TextDecoder();
      let buffer = "";
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          if (event === "deployment-event") {
            this.seqs.push(Number(/^id: (\d+)$/m.exec(frame)?.[1]));
            this.lastEventAt = Date.now();
          }
          if (event === "end") this.ended = true;
        }
      }
    } catch (err) {
      this.failed = String(err);
    }
  }

  close(): void {
    this.abort.abort();
  }
}

describe("HA topology: 3 NATS nodes, 2 gateways, 2 service processes, 2 workers, the real agent and Swarm", function () {
  this.timeout(240_000);
  const stackName = `ha${randomBytes(3).toString("hex")}`;
  let cluster: TestNatsCluster;
  let db: Db;
  const processes: CpProcess[] = [];
  let agent: AgentProcess | null = null;
  let stateDir = "";
  let org: TestOrg;
  let envId = "";
  let stackId = "";
  const figures: string[] = [];

  const spawnControlPlane = (name: string, services: string, port: number): CpProcess => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/root",
        SERVICES: services,
        NODE_ID: `ha-${name}`,
        DATABASE_URL: testDatabaseUrl(),
        NATS_URL: cluster.natsUrl,
        NATS_STREAM_REPLICAS: "3",
        NATS_TLS_CA_FILE: cluster.caFile,
        NATS_CREDS: cluster.controlPlaneCredsFile,
        NATS_IDENTITY_FILE: cluster.identityFile,
        NATS_SYSTEM_CREDS: cluster.systemCredsFile,
        HTTP_PORT: String(port),
        CONTROLPLANE_PUBLIC_URL: `http://127.0.0.1:${port}`,
        LOG_LEVEL: "warn",
        AUTH_JWT_KEYS: TEST_JWT_KEYS,
        STACKYARD_BOOTSTRAP_TOKEN: TEST_BOOTSTRAP_TOKEN,
        CONTROLPLANE_MASTER_KEY: TEST_MASTER_KEY,
        CLUSTER_OFFLINE_AFTER_SECONDS: "15",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output: string[] = [];
    const keep = (chunk: Buffer) => {
      output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      if (output.length > 300) output.splice(0, output.length - 300);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const p: CpProcess = { name, child, output, exited, port };
    processes.push(p);
    return p;
  };
  const sigkill = async (p: CpProcess) => {
    p.child.kill("SIGKILL");
    await p.exited;
  };
  const ready = (p: CpProcess) =>
    until(
      `${p.name} to be ready`,
      async () => {
        if (p.child.exitCode !== null) throw new Error(`${p.name} exited: ${p.output.slice(-20).join("\n")}`);
        const res = await fetch(`http://127.0.0.1:${p.port}/readyz`).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      },
      120_000,
      500,
    );

  let gw1: CpProcess;
  let gw2: CpProcess;
  let workers: CpProcess[] = [];
  let api1: ContractClient;
  let api2: ContractClient;
  /** Clients alternate between the gateways, as a round-robin balancer would, while both live. */
  let turn = 0;
  const api = () => (gw2.child.exitCode === null && gw2.child.signalCode === null && turn++ % 2 === 1 ? api2 : api1);
  const auth = () => org.admin.auth;
  const getDeployment = async (id: string) => (await api().get<Deployment>(`/v1/deployments/${id}`, auth())).body;
  const storedSeqs = async (id: string) =>
    (await db("deployment_events").where({ deployment_id: id }).orderBy("seq").select("seq")).map(
      (r: { seq: number }) => Number(r.seq),
    );

  before(async function () {
    this.timeout(400_000);
    await prepareSwarm();
    db = await createTestDb();
    cluster = await startTestNatsCluster(3);
    await cluster.waitForMetaLeader(60_000);
    const ports = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    // Services first (they create the streams at three replicas), then workers and gateways.
    const services = "auth,audit,clusters,stacks,deployments";
    const svc = [
      spawnControlPlane("services-1", services, ports[0]!),
      spawnControlPlane("services-2", services, ports[1]!),
    ];
    workers = [
      spawnControlPlane("worker-1", "deploy-worker", ports[2]!),
      spawnControlPlane("worker-2", "deploy-worker", ports[3]!),
    ];
    gw1 = spawnControlPlane("gateway-1", "api", ports[4]!);
    gw2 = spawnControlPlane("gateway-2", "api", ports[5]!);
    void svc;
    await Promise.all([gw1, gw2].map(ready));
    api1 = new ContractClient(`http://127.0.0.1:${gw1.port}`);
    api2 = new ContractClient(`http://127.0.0.1:${gw2.port}`);
    // The services register with the gateways over the bus a little after /readyz: retry until they answer.
    let lastOrgError = "";
    org = await until(
      "the auth service behind gateway-1",
      () =>
        createOrgWithAdmin(api1).catch((err: unknown) => {
          lastOrgError = String(err);
          return undefined;
        }),
      120_000,
      1_000,
    ).catch((err: unknown) => {
      dumpOutputs();
      throw new Error(`${String(err)}; last error: ${lastOrgError}`);
    });
    const probes = [
      `/v1/orgs/${org.orgId}/clusters`,
      `/v1/orgs/${org.orgId}/stacks`,
      `/v1/orgs/${org.orgId}/audit`,
      `/v1/environments/${randomUUID()}/deployments`,
    ];
    let lastRefusal = "";
    await until(
      "every service behind both gateways",
      async () => {
        for (const a of [api1, api2]) {
          for (const path of probes) {
            const res = await fetch(a.baseUrl + path, { headers: auth() });
            if (res.status === 503 || res.status === 504) {
              lastRefusal = `${a.baseUrl}${path}: ${res.status} ${await res.text()}`;
              return undefined;
            }
          }
        }
        return true;
      },
      120_000,
      500,
    ).catch((err: unknown) => {
      dumpOutputs();
      throw new Error(`${String(err)}; last refusal: ${lastRefusal}`);
    });
    const created = await api1.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { body: { name: "ha" }, headers: auth() },
    );
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const clusterId = created.body.cluster.id;
    stateDir = await mkdtemp(join(tmpdir(), "stackyard-ha-agent-"));
    const register = spawnAgent(["register", "--url", api2.baseUrl, "--state-dir", stateDir], {
      STACKYARD_AGENT_TOKEN: created.body.registrationToken,
    });
    expect(await register.exited, register.output.join("\n")).to.equal(0);
    agent = spawnAgent(["run", "--state-dir", stateDir], {
      STACKYARD_AGENT_HEARTBEAT_INTERVAL_MS: "1000",
      STACKYARD_AGENT_LOG_LEVEL: "info",
    });
    await waitForClusterOnline(api1, org, clusterId, 90_000);
    const stack = await api1.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: stackName },
      headers: auth(),
    });
    stackId = stack.body.id;
    const env = await api1.request<{ id: string }>("POST", `/v1/stacks/${stackId}/environments`, {
      body: { name: "prod", clusterId, imageResolution: "never", deployTimeoutSeconds: 180 },
      headers: auth(),
    });
    expect(env.status, JSON.stringify(env.body)).to.equal(201);
    envId = env.body.id;
  });

  after(async function () {
    this.timeout(180_000);
    await stopAgent(agent);
    for (const p of processes) if (p.child.exitCode === null) p.child.kill("SIGTERM");
    await Promise.race([Promise.all(processes.map((p) => p.exited)), sleep(20_000)]);
    for (const p of processes) if (p.child.exitCode === null) p.child.kill("SIGKILL");
    await removeStack(`${stackName}-prod`).catch(() => undefined);
    await cluster?.stop();
    await db?.destroy();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
    if (figures.length > 0) console.log(`    recovery times:\n${figures.map((f) => `      ${f}`).join("\n")}`);
  });

  afterEach(function () {
    if (this.currentTest?.state !== "failed") return;
    dumpOutputs();
  });

  const dumpOutputs = () => {
    for (const p of processes) console.error(`--- ${p.name} (last 30 lines) ---\n${p.output.slice(-30).join("\n")}`);
    if (agent) console.error(`--- agent (last 40 lines) ---\n${agent.output.slice(-40).join("\n")}`);
  };

  it("a deploy survives a NATS node, a gateway and a worker killed mid-deploy, with every event once", async () => {
    // A rollout that takes ~25 s: tasks turn healthy only after 20 s, so the kills land while it runs.
    const composeYaml = `services:
  app:
    image: ${TEST_IMAGE}
    command: ["sh", "-c", "sleep 20; touch /tmp/ready; exec sleep 3600"]
    stop_grace_period: 1s
    healthcheck: { test: ["CMD", "test", "-f", "/tmp/ready"], interval: 1s, timeout: 1s, retries: 60 }
    deploy:
      replicas: 2
      restart_policy: { condition: any, delay: 1s }
`;
    const release = await api().request<{ id: string }>("POST", `/v1/stacks/${stackId}/releases`, {
      body: { sourceType: "upload", composeYaml },
      headers: auth(),
    });
    expect(release.status, JSON.stringify(release.body)).to.equal(201);
    const created = await api1.request<Deployment>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId: release.body.id },
      headers: { ...auth(), "idempotency-key": randomBytes(8).toString("hex") },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(202);
    const id = created.body.id;
    const path = `/v1/deployments/${id}/events`;
    const survivor = new SseClient(api1.baseUrl, path, auth());
    const victim = new SseClient(api2.baseUrl, path, auth());

    await until(
      "the deployment to run",
      async () => ((await getDeployment(id)).status === "RUNNING" ? true : undefined),
      60_000,
      250,
    );

    // 1. The NATS node leading the events stream, SIGKILLed.
    const jsz = (await (await fetch(`${cluster.nodes[0]!.monitorUrl}/jsz?streams=true&accounts=true`)).json()) as {
      account_details?: Array<{ stream_detail?: Array<{ name: string; cluster?: { leader?: string } }> }>;
    };
    const leader = jsz.account_details
      ?.flatMap((a) => a.stream_detail ?? [])
      .find((s) => s.name === AGENT_EVENTS_STREAM.name)?.cluster?.leader;
    const natsVictim = cluster.nodes.find((n) => n.name === leader) ?? cluster.nodes[0]!;
    const before = (await storedSeqs(id)).length;
    const natsKilledAt = Date.now();
    await natsVictim.kill();
    await until(
      "a new event stored after the NATS node was lost",
      async () => ((await storedSeqs(id)).length > before ? true : undefined),
      90_000,
      100,
    );
    figures.push(
      `NATS node ${natsVictim.name} (events stream leader) killed → next event stored after ${Date.now() - natsKilledAt} ms`,
    );

    // 2. Gateway 2 SIGKILLed: its SSE client resumes on gateway 1 with Last-Event-ID.
    const gwKilledAt = Date.now();
    await sigkill(gw2);
    await victim.done;
    const lastSeen = victim.seqs.at(-1);
    const resumed = new SseClient(api1.baseUrl, path, auth(), lastSeen);
    await until(
      "the resumed SSE client to get an event",
      async () => (resumed.seqs.length > 0 || resumed.ended || resumed.failed ? true : undefined),
      60_000,
      50,
    );
    expect(resumed.failed, "the resumed client's stream").to.equal(null);
    figures.push(
      `gateway-2 killed → its SSE client resumed on gateway-1 in ${Date.now() - gwKilledAt} ms (Last-Event-ID ${lastSeen ?? "none"})`,
    );

    // 3. A worker SIGKILLed.
    const workerKilledAt = Date.now();
    await sigkill(workers[0]!);
    figures.push(`worker-1 killed at +${workerKilledAt - natsKilledAt} ms after the NATS node`);

    const final = await until(
      "the deployment to end",
      async () => {
        const d = await getDeployment(id);
        return d.status === "PENDING" || d.status === "RUNNING" ? undefined : d;
      },
      150_000,
      500,
    );
    expect(final.status, final.errorMessage ?? "").to.equal("SUCCEEDED");
    figures.push(`deployment SUCCEEDED ${Date.now() - natsKilledAt} ms after the first kill`);

    const stored = await storedSeqs(id);
    expect(stored.length).to.be.greaterThan(3);
    const first = stored[0]!;
    expect(stored, "seq contiguous in Postgres").to.deep.equal(stored.map((_s, i) => first + i));

    await Promise.race([Promise.all([survivor.done, resumed.done]), sleep(30_000)]);
    expect(survivor.failed, "the surviving gateway's client kept streaming").to.equal(null);
    expect(survivor.ended).to.equal(true);
    expect(survivor.seqs, "surviving client: every event once, in order").to.deep.equal(stored);
    expect(resumed.ended).to.equal(true);
    const joined = [...victim.seqs, ...resumed.seqs];
    expect(joined, "killed gateway's client + resume: every event once, in order").to.deep.equal(stored);
    // The deploy ran once on the Swarm.
    const tasks = (
      await (
        await import("../../services/_shared/testing/swarm.js")
      ).docker("service", "ps", `${stackName}-prod_app`, "--format", "{{.DesiredState}}")
    ).split("\n");
    expect(tasks.filter((t) => t === "Running")).to.have.length(2);
  });
});

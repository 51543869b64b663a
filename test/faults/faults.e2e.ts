/**
 * The fault suite (issue #17): real processes killed or restarted mid-deploy on this machine's Swarm. The control
 * plane runs as three child processes of services/main.ts (every service but the worker, and two deploy workers),
 * with a nats-server from our template, a Postgres cluster of its own (so that it can be crashed) and the real
 * agent. For each fault: the deployment reaches a truthful terminal state with its reason, its events are in
 * Postgres once with contiguous seqs, `docker stack deploy` ran once, and a second deploy afterwards succeeds with
 * no manual step. Prints what the user saw and how long recovery took, per fault.
 *
 * Run by `make test-faults` (scripts/test-faults.sh), not by `make test`: the file is not a *.spec.ts.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Db } from "../../services/_shared/db.js";
import { REPO_ROOT } from "../../services/_shared/paths.js";
import { createTestDb, testDatabaseUrl } from "../../services/_shared/testing/database.js";
import { createOrgWithAdmin, type TestOrg } from "../../services/_shared/testing/fixtures.js";
import { ContractClient } from "../../services/_shared/testing/http.js";
import { freePort, startTestNatsServer, type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { TEST_BOOTSTRAP_TOKEN, TEST_JWT_KEYS, TEST_MASTER_KEY } from "../../services/_shared/testing/platform.js";
import {
  docker,
  prepareSwarm,
  removeStack,
  spawnAgent,
  stopAgent,
  TEST_IMAGE,
  type AgentProcess,
} from "../../services/_shared/testing/swarm.js";
import { startThrowawayPostgres, type ThrowawayPostgres } from "../../services/_shared/testing/throwaway-postgres.js";
import { sleep, until } from "../../services/_shared/testing/wait.js";

const MAIN = join(REPO_ROOT, "services/main.ts");
const OFFLINE_AFTER_SECONDS = 5;
/** The environment's deploy timeout: the stale sweep fails a deployment whose agent went silent after it. */
const DEPLOY_TIMEOUT_SECONDS = 60;

interface CpProcess {
  name: string;
  services: string;
  port: number;
  child: ChildProcess;
  output: string[];
  exited: Promise<void>;
}

interface Deployment {
  id: string;
  status: string;
  errorMessage: string | null;
}

interface StoredEvent {
  seq: number;
  message: string;
}

const elapsed = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

describe("fault suite: real processes killed or restarted mid-deploy, the real agent and Swarm", function () {
  this.timeout(300_000);
  const stackName = `flt${randomBytes(3).toString("hex")}`;
  const swarmService = `${stackName}-prod_app`;
  let pg: ThrowawayPostgres;
  let nats: TestNatsServer;
  let db: Db;
  let databaseUrl = "";
  const processes: CpProcess[] = [];
  let agent: AgentProcess | null = null;
  const agentOutputs: string[][] = [];
  let stateDir = "";
  let org: TestOrg;
  let clusterId = "";
  let envId = "";
  let stackId = "";
  let api: ContractClient;
  let deployCount = 0;
  const figures: string[] = [];

  const spawnControlPlane = (name: string, services: string, port: number): CpProcess => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/root",
        SERVICES: services,
        NODE_ID: `faults-${name}`,
        DATABASE_URL: databaseUrl,
        NATS_URL: nats.url,
        NATS_TLS_CA_FILE: nats.caFile,
        NATS_CREDS: nats.controlPlaneCredsFile,
        NATS_IDENTITY_FILE: nats.identityFile,
        NATS_SYSTEM_CREDS: nats.systemCredsFile,
        HTTP_PORT: String(port),
        CONTROLPLANE_PUBLIC_URL: `http://127.0.0.1:${port}`,
        LOG_LEVEL: services === "deploy-worker" ? "info" : "warn",
        AUTH_JWT_KEYS: TEST_JWT_KEYS,
        STACKYARD_BOOTSTRAP_TOKEN: TEST_BOOTSTRAP_TOKEN,
        CONTROLPLANE_MASTER_KEY: TEST_MASTER_KEY,
        CLUSTER_OFFLINE_AFTER_SECONDS: String(OFFLINE_AFTER_SECONDS),
        DEPLOY_STALE_GRACE_SECONDS: "5",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output: string[] = [];
    const keep = (chunk: Buffer) => {
      output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      if (output.length > 400) output.splice(0, output.length - 400);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const p: CpProcess = { name, services, port, child, output, exited };
    const at = processes.findIndex((q) => q.name === name);
    if (at >= 0) processes[at] = p;
    else processes.push(p);
    return p;
  };
  const cp = (name: string) => processes.find((p) => p.name === name)!;
  const sigkill = async (p: { child: ChildProcess; exited: Promise<unknown> }) => {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    await p.exited;
  };
  const readyz = async () => (await fetch(`${api.baseUrl}/readyz`).catch(() => undefined))?.status ?? 0;
  const waitReady = () =>
    until(
      "the control plane to be ready",
      async () => {
        const gw = cp("services");
        if (gw.child.exitCode !== null) throw new Error(`services exited: ${gw.output.slice(-20).join("\n")}`);
        return (await readyz()) === 200 ? true : undefined;
      },
      120_000,
      250,
    );
  const startAgent = () => {
    agent = spawnAgent(["run", "--state-dir", stateDir], {
      STACKYARD_AGENT_HEARTBEAT_INTERVAL_MS: "1000",
      STACKYARD_AGENT_LOG_LEVEL: "info",
    });
    agentOutputs.push(agent.output);
    return agent;
  };
  const auth = () => org.admin.auth;
  const getDeployment = async (id: string) => (await api.get<Deployment>(`/v1/deployments/${id}`, auth())).body;
  const clusterStatus = async () =>
    (await api.get<{ status: string }>(`/v1/orgs/${org.orgId}/clusters/${clusterId}`, auth())).body.status;
  const waitOnline = () =>
    until(
      "the cluster to be online",
      async () => ((await clusterStatus()) === "online" ? true : undefined),
      90_000,
      250,
    );
  const storedEvents = async (id: string): Promise<StoredEvent[]> =>
    (await db("deployment_events").where({ deployment_id: id }).orderBy("seq").select("seq", "message")).map(
      (r: { seq: number | string; message: string }) => ({ seq: Number(r.seq), message: r.message }),
    );
  /**
   * Messages NATS has handed to the agent's connection so far (the connection holding its `cmd.<cluster>.>`
   * subscription, monitoring). Its `out_msgs`, not the subscription's own count: the agent is a user of its org's
   * account, where commands arrive through a stream import, and the server counts those on the import's shadow
   * subscription. While the agent is paused, the only message it can be handed is a command.
   */
  const commandsDeliveredToAgent = async (): Promise<number> => {
    const res = await fetch(`${nats.monitorUrl}/connz?subs=detail&limit=1024`);
    const connz = (await res.json()) as {
      connections: Array<{ out_msgs: number; subscriptions_list_detail?: Array<{ subject: string }> }>;
    };
    return connz.connections
      .filter((c) => (c.subscriptions_list_detail ?? []).some((sub) => sub.subject === `cmd.${clusterId}.>`))
      .reduce((n, c) => n + c.out_msgs, 0);
  };
  /**
   * The service's spec as deployed. Not its Version.Index: Swarm bumps that itself while a rolling update it already
   * runs progresses (its UpdateStatus), with nobody deploying.
   */
  const serviceSpec = () => docker("service", "inspect", swarmService, "--format", "{{json .Spec}}");

  /** A release of a rollout that takes ~25 s (tasks are healthy only after 22 s), deployed; returns its id. */
  const startSlowDeploy = async (): Promise<string> => {
    deployCount++;
    const composeYaml = `services:
  app:
    image: ${TEST_IMAGE}
    command: ["sh", "-c", "sleep 22; touch /tmp/ready; exec sleep 3600"]
    environment: { ROUND: "${deployCount}" }
    stop_grace_period: 1s
    healthcheck: { test: ["CMD", "test", "-f", "/tmp/ready"], interval: 1s, timeout: 1s, retries: 60 }
    deploy:
      replicas: 2
      update_config: { parallelism: 2, monitor: 1s }
      restart_policy: { condition: any, delay: 1s }
`;
    return deploy(composeYaml);
  };
  const deploy = async (composeYaml: string): Promise<string> => {
    const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/releases`, {
      body: { sourceType: "upload", composeYaml },
      headers: auth(),
    });
    expect(release.status, JSON.stringify(release.body)).to.equal(201);
    const created = await api.request<Deployment>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId: release.body.id },
      headers: { ...auth(), "idempotency-key": randomBytes(8).toString("hex") },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(202);
    return created.body.id;
  };
  /** Waits for RUNNING and for the agent's first event past `docker stack deploy` (the rollout is under way). */
  const waitMidDeploy = async (id: string) => {
    await until(
      "the deployment to run",
      async () => ((await getDeployment(id).catch(() => undefined))?.status === "RUNNING" ? true : undefined),
      60_000,
      200,
    );
    await until(
      "the rollout to be under way",
      async () => ((await storedEvents(id)).length >= 4 ? true : undefined),
      60_000,
      200,
    );
  };
  const waitTerminal = (id: string, timeoutMs = 200_000) =>
    until(
      "the deployment to end",
      async () => {
        const d = await getDeployment(id).catch(() => undefined);
        // A 503 while a restarted service registers on the bus has no status: not an end.
        return d && ["SUCCEEDED", "FAILED", "CANCELED"].includes(d.status) ? d : undefined;
      },
      timeoutMs,
      250,
    );
  /** Every event once, seqs contiguous from 0 (the "queued" event); exactly one terminal event; `docker stack deploy` ran `runs` times. */
  const expectEventsOnce = async (id: string, runs: number) => {
    // The writer may still be storing the agent's last lines after the status changed.
    await sleep(1_500);
    const events = await storedEvents(id);
    const seqs = events.map((e) => e.seq);
    expect(seqs, "seq contiguous from 0 in Postgres, no gap, no duplicate").to.deep.equal(seqs.map((_s, i) => i));
    const dispatches = events.filter((e) => e.message.startsWith("dispatching "));
    expect(dispatches, "one dispatch").to.have.length(1);
    const stackDeploys = events.filter((e) => e.message.startsWith("docker stack deploy finished"));
    expect(stackDeploys.length, `docker stack deploy ran ${runs}×: ${JSON.stringify(events)}`).to.equal(runs);
    return events;
  };
  /** After the fault: a second deploy succeeds with nothing done by hand. Returns when it did. */
  const expectRecovered = async () => {
    const id = await deploy(`services:
  app:
    image: ${TEST_IMAGE}
    command: ["sleep", "3600"]
    environment: { ROUND: "recovery-${deployCount}" }
    stop_grace_period: 1s
    deploy:
      replicas: 1
      update_config: { parallelism: 2, monitor: 1s }
      restart_policy: { condition: any, delay: 1s }
`);
    const final = await waitTerminal(id, 120_000);
    expect(final.status, `the deploy after recovery: ${final.errorMessage ?? ""}`).to.equal("SUCCEEDED");
    await expectEventsOnce(id, 1);
  };

  before(async function () {
    this.timeout(400_000);
    await prepareSwarm();
    pg = await startThrowawayPostgres();
    // createTestDb makes this process's database on the throwaway cluster, migrated and empty.
    process.env.TEST_DATABASE_URL = pg.url.replace(/\/postgres$/, "/stackyard_faults");
    db = await createTestDb();
    databaseUrl = testDatabaseUrl();
    nats = await startTestNatsServer();
    const ports = [await freePort(), await freePort(), await freePort()];
    spawnControlPlane("services", "api,auth,audit,clusters,stacks,deployments,notifications,alerts", ports[0]!);
    spawnControlPlane("worker-1", "deploy-worker", ports[1]!);
    spawnControlPlane("worker-2", "deploy-worker", ports[2]!);
    api = new ContractClient(`http://127.0.0.1:${ports[0]}`);
    await waitReady().catch((err: unknown) => {
      dumpOutputs();
      throw err;
    });
    org = await until("the auth service", () => createOrgWithAdmin(api).catch(() => undefined), 120_000, 1_000);
    // The services register with the gateway over the bus one by one after /readyz: 503 until the clusters one has.
    const created = await until(
      "the clusters service behind the gateway",
      async () => {
        const res = await api.request<{ cluster: { id: string }; registrationToken: string }>(
          "POST",
          `/v1/orgs/${org.orgId}/clusters`,
          { body: { name: `faults-${randomBytes(3).toString("hex")}` }, headers: auth() },
        );
        return res.status === 503 ? undefined : res;
      },
      120_000,
      1_000,
    );
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    clusterId = created.body.cluster.id;
    stateDir = await mkdtemp(join(tmpdir(), "stackyard-faults-agent-"));
    const register = spawnAgent(["register", "--url", api.baseUrl, "--state-dir", stateDir], {
      STACKYARD_AGENT_TOKEN: created.body.registrationToken,
    });
    expect(await register.exited, register.output.join("\n")).to.equal(0);
    startAgent();
    await waitOnline();
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: stackName },
      headers: auth(),
    });
    stackId = stack.body.id;
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/environments`, {
      body: { name: "prod", clusterId, deployTimeoutSeconds: DEPLOY_TIMEOUT_SECONDS },
      headers: auth(),
    });
    expect(env.status, JSON.stringify(env.body)).to.equal(201);
    envId = env.body.id;
    // A first deploy creates the Swarm service, so that every fault below lands in a rolling update.
    await expectRecovered();
  });

  after(async function () {
    this.timeout(180_000);
    if (agent?.child.signalCode === "SIGSTOP" || agent) agent?.child.kill("SIGCONT");
    await stopAgent(agent);
    for (const p of processes) if (p.child.exitCode === null) p.child.kill("SIGTERM");
    await Promise.race([Promise.all(processes.map((p) => p.exited)), sleep(20_000)]);
    for (const p of processes) if (p.child.exitCode === null) p.child.kill("SIGKILL");
    await removeStack(`${stackName}-prod`).catch(() => undefined);
    await nats?.stop();
    await db?.destroy();
    await pg?.stop();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
    if (figures.length > 0)
      console.log(`    what the user saw, and recovery:\n${figures.map((f) => `      ${f}`).join("\n")}`);
  });

  afterEach(function () {
    if (this.currentTest?.state !== "failed") return;
    dumpOutputs();
  });

  const dumpOutputs = () => {
    for (const p of processes) console.error(`--- ${p.name} (last 30 lines) ---\n${p.output.slice(-30).join("\n")}`);
    if (agent) console.error(`--- agent (last 40 lines) ---\n${agent.output.slice(-40).join("\n")}`);
  };

  it("the agent SIGKILLed mid-deploy, then restarted: the deployment fails 'agent restarted', not stuck RUNNING", async () => {
    const id = await startSlowDeploy();
    await waitMidDeploy(id);
    const specBefore = await serviceSpec();
    const killedAt = Date.now();
    await sigkill(agent!);
    await sleep(2_000);
    const restarted = startAgent();
    await waitOnline();
    const backAt = Date.now();
    const final = await waitTerminal(id);
    expect(final.status).to.equal("FAILED");
    // The sweep's timeout message ("no result from the agent within the deploy timeout") would come only after
    // DEPLOY_TIMEOUT_SECONDS; this one comes with the new agent's first heartbeat.
    expect(final.errorMessage ?? "").to.match(/^agent restarted mid-deploy \(its new process started at /);
    await expectEventsOnce(id, 1);
    expect(
      restarted.output.filter((l) => l.includes("deployment started") && l.includes(id)),
      "the restarted agent did not deploy again",
    ).to.deep.equal([]);
    expect(await serviceSpec(), "the service's spec is the one deployed before the kill").to.equal(specBefore);
    figures.push(
      `agent SIGKILLed + restarted: FAILED "${final.errorMessage}" ${elapsed(killedAt)} after the kill ` +
        `(agent back online after ${((backAt - killedAt) / 1000).toFixed(1)} s)`,
    );
    await expectRecovered();
    figures.push(`  … next deploy SUCCEEDED ${elapsed(killedAt)} after the kill`);
  });

  it("the control plane (every process) SIGKILLed mid-deploy and restarted: the deployment succeeds", async () => {
    const id = await startSlowDeploy();
    await waitMidDeploy(id);
    const killedAt = Date.now();
    await Promise.all(processes.map(sigkill));
    await sleep(2_000);
    for (const p of [...processes]) spawnControlPlane(p.name, p.services, p.port);
    await waitReady();
    const readyAt = Date.now();
    const final = await waitTerminal(id);
    expect(final.status, final.errorMessage ?? "").to.equal("SUCCEEDED");
    await expectEventsOnce(id, 1);
    figures.push(
      `control plane SIGKILLed + restarted: /readyz 200 ${((readyAt - killedAt) / 1000).toFixed(1)} s after the ` +
        `kill; deployment SUCCEEDED ${elapsed(killedAt)} after it, every agent event stored once`,
    );
    await expectRecovered();
  });

  it("one of two deploy workers SIGKILLed just after its command reached the agent: the agent's run stands, dispatched once", async () => {
    // The agent paused: the worker that took the job sends its command and waits for the answer, holding the job.
    // It is killed once NATS has handed the command to the agent's connection, so the agent runs the deploy of a
    // worker that is gone; the other worker gets the job again after the ack wait (60 s) and must not dispatch twice.
    const delivered = await commandsDeliveredToAgent();
    agent!.child.kill("SIGSTOP");
    const id = await deploy(`services:
  app:
    image: ${TEST_IMAGE}
    command: ["sleep", "3600"]
    environment: { ROUND: "worker-${++deployCount}" }
    stop_grace_period: 1s
    deploy:
      replicas: 2
      update_config: { parallelism: 2, monitor: 1s }
      restart_policy: { condition: any, delay: 1s }
`);
    const holder = await until(
      "a worker to take the job",
      async () =>
        ["worker-1", "worker-2"]
          .map(cp)
          .find((w) => w.output.some((l) => l.includes("deploy job taken") && l.includes(id))),
      30_000,
      50,
    );
    await until(
      "the command to reach the agent's connection",
      async () => ((await commandsDeliveredToAgent()) > delivered ? true : undefined),
      30_000,
      20,
    );
    const killedAt = Date.now();
    await sigkill(holder);
    await sleep(1_000);
    agent!.child.kill("SIGCONT");
    const final = await waitTerminal(id);
    const endedAfter = elapsed(killedAt);
    const survivor = ["worker-1", "worker-2"].map(cp).find((w) => w !== holder)!;
    const takenOverBeforeTheEnd = survivor.output.some((l) => l.includes("deploy job taken") && l.includes(id));
    expect(final.status, final.errorMessage ?? "").to.equal("SUCCEEDED");
    const agentLines = agent!.output.filter((l) => l.includes(id)).map((l) => l.slice(0, 160));
    expect(
      takenOverBeforeTheEnd,
      `the agent ran the killed worker's command itself: ${agentLines.join("\n")}`,
    ).to.equal(false);
    const events = await expectEventsOnce(id, 1);
    // The job is the survivor's after the ack wait: it finds the deployment ended by the agent's own outcome.
    await until(
      "the other worker to take the job over",
      async () =>
        survivor.output.some(
          (l) => l.includes("deploy job processed") && l.includes(id) && /outcome\W{1,4}done/.test(l),
        )
          ? true
          : undefined,
      120_000,
      250,
    );
    figures.push(
      `${holder.name} SIGKILLed after its command reached the agent: deployment SUCCEEDED ${endedAfter} after the ` +
        `kill (the agent's own outcome); ${survivor.name} took the job over ${elapsed(killedAt)} after it and sent nothing`,
    );
    figures.push(`  … ${events.length} events, dispatched once:`);
    for (const e of events) figures.push(`      ${e.seq} ${e.message.slice(0, 110)}`);
    figures.push(`  … the agent's log of it:`, ...agentLines.map((l) => `      ${l}`));
    spawnControlPlane(holder.name, holder.services, holder.port);
    await expectRecovered();
  });

  it("NATS restarted mid-deploy: the file store survives, every client reconnects, the deployment succeeds", async () => {
    const id = await startSlowDeploy();
    await waitMidDeploy(id);
    const before = (await storedEvents(id)).length;
    const restartedAt = Date.now();
    await nats.restart();
    await until(
      "a new event stored after the NATS restart",
      async () => ((await storedEvents(id)).length > before ? true : undefined),
      90_000,
      100,
    );
    const flowingAt = Date.now();
    const final = await waitTerminal(id);
    expect(final.status, final.errorMessage ?? "").to.equal("SUCCEEDED");
    await expectEventsOnce(id, 1);
    await waitOnline();
    figures.push(
      `NATS restarted: next event stored ${((flowingAt - restartedAt) / 1000).toFixed(1)} s after the restart; ` +
        `deployment SUCCEEDED ${elapsed(restartedAt)} after it`,
    );
    await expectRecovered();
  });

  it("Postgres crashed and restarted mid-deploy: /readyz 503 meanwhile, nothing dropped, the deployment succeeds", async () => {
    const id = await startSlowDeploy();
    await waitMidDeploy(id);
    const crashedAt = Date.now();
    await pg.crash();
    await until("/readyz to answer 503", async () => ((await readyz()) === 503 ? true : undefined), 30_000, 200);
    const notReadyAfter = Date.now() - crashedAt;
    await sleep(5_000);
    await pg.start();
    const startedAt = Date.now();
    await waitReady();
    const readyAfter = Date.now() - startedAt;
    const final = await waitTerminal(id);
    expect(final.status, final.errorMessage ?? "").to.equal("SUCCEEDED");
    await expectEventsOnce(id, 1);
    figures.push(
      `Postgres down ~${((startedAt - crashedAt) / 1000).toFixed(1)} s: /readyz 503 after ${(notReadyAfter / 1000).toFixed(1)} s, ` +
        `200 again ${(readyAfter / 1000).toFixed(1)} s after Postgres was back; deployment SUCCEEDED ${elapsed(crashedAt)} after the crash`,
    );
    await expectRecovered();
  });

  it("the agent paused (SIGSTOP) past the offline threshold, then resumed: offline meanwhile, the deployment succeeds", async () => {
    const id = await startSlowDeploy();
    await waitMidDeploy(id);
    const pausedAt = Date.now();
    agent!.child.kill("SIGSTOP");
    await until(
      "the cluster to be shown offline",
      async () => ((await clusterStatus()) === "offline" ? true : undefined),
      30_000,
      250,
    );
    const offlineAfter = Date.now() - pausedAt;
    const during = await getDeployment(id);
    await sleep(Math.max(0, (OFFLINE_AFTER_SECONDS + 5) * 1000 - (Date.now() - pausedAt)));
    agent!.child.kill("SIGCONT");
    const resumedAt = Date.now();
    await waitOnline();
    const onlineAfter = Date.now() - resumedAt;
    const final = await waitTerminal(id);
    expect(final.status, final.errorMessage ?? "").to.equal("SUCCEEDED");
    await expectEventsOnce(id, 1);
    figures.push(
      `agent paused ${((resumedAt - pausedAt) / 1000).toFixed(1)} s: cluster offline after ${(offlineAfter / 1000).toFixed(1)} s ` +
        `(deployment meanwhile ${during.status}), online ${(onlineAfter / 1000).toFixed(1)} s after SIGCONT; ` +
        `deployment SUCCEEDED ${elapsed(resumedAt)} after it`,
    );
    await expectRecovered();
  });
});

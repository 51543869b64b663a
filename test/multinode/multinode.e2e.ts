/**
 * What only shows on several nodes, on a real three-node Swarm (scripts/multinode-swarm.sh: a manager and two
 * workers, each a dockerd in its own network namespace), through the REST API and the real agent on the manager:
 * the inventory of every node, replicas spread over nodes, placement constraints, an image missing on the
 * workers, a node drained mid-deploy, a worker daemon killed mid-deploy, and node actions from the API.
 *
 * Run by `make test-multinode` (scripts/test-multinode.sh), not by `make test`: the file is not a *.spec.ts.
 * Skipped, saying why, where network namespaces or a second dockerd are not permitted.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Db } from "../../services/_shared/db.js";
import { REPO_ROOT } from "../../services/_shared/paths.js";
import { createOrgWithAdmin, createUserWithRole, type TestOrg } from "../../services/_shared/testing/fixtures.js";
import { ContractClient } from "../../services/_shared/testing/http.js";
import { type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { type TestPlatform } from "../../services/_shared/testing/platform.js";
import {
  spawnAgent,
  stopAgent,
  TEST_IMAGE,
  testStackCompose as compose,
  type AgentProcess,
} from "../../services/_shared/testing/swarm.js";
import {
  dockerOn,
  hostnameOf,
  killDaemon,
  LABELLED_WORKER,
  multinodeUnsupported,
  socketOf,
  startDaemon,
  swarmDown,
  swarmLeftovers,
  swarmNodeState,
  swarmUp,
  WORKER_LABEL,
  type MultinodeNode,
} from "../../services/_shared/testing/multinode-swarm.js";
import { startTestStack, stopTestStack } from "../../services/_shared/testing/stack.js";
import { until as untilEvery } from "../../services/_shared/testing/wait.js";

const run = promisify(execFile);
const POLL_MS = 250;
/** The agent's inventory interval here; node changes must show within one of these. */
const INVENTORY_INTERVAL_MS = 5_000;
const MANAGER_ONLY_IMAGE = "stackyard/busybox:manager-only";
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> =>
  untilEvery(what, probe, timeoutMs, POLL_MS);

interface Deployment {
  id: string;
  status: "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELED";
  errorMessage: string | null;
}
interface ClusterNode {
  id: string;
  nodeId: string;
  hostname: string;
  role: "manager" | "worker";
  availability: "active" | "pause" | "drain";
  status: "unknown" | "down" | "ready" | "disconnected";
  labels: Record<string, string>;
  resources: { nanoCpus?: number; memoryBytes?: number; engineVersion?: string | null; address?: string | null };
}
interface Cluster {
  status: string;
  unhealthyNodes: string[];
}
interface EnvironmentStatus {
  services: Array<{
    name: string;
    runningReplicas: number;
    tasks: Array<{ id: string; state: string; desiredState: string; nodeId: string | null }>;
  }>;
}

describe("a real three-node Swarm (1 manager + 2 workers in network namespaces, real agent and control plane)", function () {
  this.timeout(120_000);
  const stackName = `mn${randomBytes(3).toString("hex")}`;
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let stateDir = "";
  let agent: AgentProcess | null = null;
  let clusterId = "";
  let stackId = "";
  const envs: Record<"main" | "tight" | "kill", string> = { main: "", tight: "", kill: "" };
  const figures: string[] = [];
  let harnessUp = false;
  let clusterAdminAuth: Record<string, string> = {};

  const auth = () => org.admin.auth;
  const clusterPath = () => `/v1/orgs/${org.orgId}/clusters/${clusterId}`;
  const getCluster = async () => (await api.get<Cluster>(clusterPath(), auth())).body;
  const getNodes = async () => (await api.get<{ items: ClusterNode[] }>(`${clusterPath()}/nodes`, auth())).body.items;
  const nodeByHost = async (node: MultinodeNode) => {
    const found = (await getNodes()).find((n) => n.hostname === hostnameOf(node));
    if (!found) throw new Error(`node ${hostnameOf(node)} is not in the inventory`);
    return found;
  };
  const getDeployment = async (id: string) => (await api.get<Deployment>(`/v1/deployments/${id}`, auth())).body;
  const finalOf = (id: string, timeoutMs = 90_000) =>
    until(
      `deployment ${id} to end`,
      async () => {
        const d = await getDeployment(id);
        return d.status === "PENDING" || d.status === "RUNNING" ? undefined : d;
      },
      timeoutMs,
    );
  const release = async (composeYaml: string) => {
    const res = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/releases`, {
      body: { sourceType: "upload", composeYaml },
      headers: auth(),
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.id;
  };
  const deploy = async (env: keyof typeof envs, composeYaml: string) => {
    const releaseId = await release(composeYaml);
    const res = await api.request<Deployment>("POST", `/v1/environments/${envs[env]}/deployments`, {
      body: { releaseId },
      headers: { ...auth(), "idempotency-key": randomBytes(8).toString("hex") },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return res.body;
  };
  const eventMessages = async (id: string): Promise<string[]> => {
    const res = await fetch(`${platform.baseUrl}/v1/deployments/${id}/events`, {
      headers: auth(),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return text
      .split("\n")
      .filter((l) => l.startsWith("data:"))
      .map((l) => String((JSON.parse(l.slice(5)) as { message?: unknown }).message ?? ""));
  };
  /** Running tasks of the environment's service, by the hostname of their node, as the API reports them. */
  const runningByNode = async (env: keyof typeof envs): Promise<Map<string, number>> => {
    const status = await api.get<EnvironmentStatus>(`/v1/environments/${envs[env]}/status`, auth());
    expect(status.status).to.equal(200);
    const hostById = new Map((await getNodes()).map((n) => [n.nodeId, n.hostname]));
    const counts = new Map<string, number>();
    for (const t of status.body.services[0]?.tasks ?? []) {
      if (t.state !== "running" || t.desiredState !== "running") continue;
      const host = (t.nodeId && hostById.get(t.nodeId)) || `unknown node ${t.nodeId}`;
      counts.set(host, (counts.get(host) ?? 0) + 1);
    }
    return counts;
  };
  /** When Swarm's own view of the node first satisfied `want` (polled on the manager). */
  const watchSwarm = (node: MultinodeNode, want: (s: { status: string; availability: string }) => boolean) =>
    until(
      `Swarm to see ${hostnameOf(node)} change`,
      async () => (want(await swarmNodeState(node)) ? Date.now() : undefined),
      90_000,
    );
  /** PATCH /nodes/{id}: the node action under test, as a CLUSTER_ADMIN unless another user is given. */
  const patchNode = async (
    node: MultinodeNode,
    body: Record<string, unknown>,
    headers: Record<string, string> = clusterAdminAuth,
  ) => {
    const id = (await nodeByHost(node)).id;
    return api.request<ClusterNode>("PATCH", `${clusterPath()}/nodes/${id}`, { body, headers });
  };
  const setAvailability = async (node: MultinodeNode, availability: "active" | "pause" | "drain") => {
    const res = await patchNode(node, { availability });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body).to.include({ hostname: hostnameOf(node), availability });
    return res.body;
  };

  before(async function () {
    this.timeout(300_000);
    const unsupported = await multinodeUnsupported();
    if (unsupported) {
      console.log(`    (skipped: the multi-node Swarm cannot be built here: ${unsupported})`);
      this.skip();
    }
    await run("bash", [join(REPO_ROOT, "scripts/build-test-image.sh")], { timeout: 170_000 });
    harnessUp = true;
    await swarmUp([TEST_IMAGE]);
    // An image only the manager has: tasks scheduled on a worker are rejected with "No such image".
    await dockerOn("m", "tag", TEST_IMAGE, MANAGER_ONLY_IMAGE);

    ({ db, nats, platform, api } = await startTestStack({ CLUSTER_OFFLINE_AFTER_SECONDS: "10" }));
    org = await createOrgWithAdmin(api);
    clusterAdminAuth = (await createUserWithRole(api, org, "CLUSTER_ADMIN")).auth;
    stateDir = await mkdtemp(join(tmpdir(), "stackyard-multinode-agent-"));
    const cluster = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { body: { name: "multinode" }, headers: auth() },
    );
    expect(cluster.status).to.equal(201);
    clusterId = cluster.body.cluster.id;
    // DOCKER_HOST is all that points the agent (dockerode and `docker stack deploy`) at the namespaced manager.
    const dockerHost = `unix://${socketOf("m")}`;
    const register = spawnAgent(["register", "--url", platform.baseUrl, "--state-dir", stateDir], {
      STACKYARD_AGENT_TOKEN: cluster.body.registrationToken,
      DOCKER_HOST: dockerHost,
    });
    expect(await register.exited, register.output.join("\n")).to.equal(0);
    agent = spawnAgent(["run", "--state-dir", stateDir], {
      DOCKER_HOST: dockerHost,
      STACKYARD_AGENT_HEARTBEAT_INTERVAL_MS: "1000",
      STACKYARD_AGENT_INVENTORY_INTERVAL_MS: String(INVENTORY_INTERVAL_MS),
      STACKYARD_AGENT_INVENTORY_DEBOUNCE_MS: "200",
      STACKYARD_AGENT_LOG_LEVEL: "info",
    });

    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: stackName },
      headers: auth(),
    });
    expect(stack.status).to.equal(201);
    stackId = stack.body.id;
    for (const [key, name, timeout] of [
      ["main", "main", 90],
      ["tight", "tight", 15],
      ["kill", "kill", 45],
    ] as const) {
      const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/environments`, {
        body: { name, clusterId, imageResolution: "never", deployTimeoutSeconds: timeout },
        headers: auth(),
      });
      expect(env.status, JSON.stringify(env.body)).to.equal(201);
      envs[key] = env.body.id;
    }
  });

  after(async function () {
    this.timeout(240_000);
    await stopAgent(agent);
    await stopTestStack({ db, nats, platform });
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
    if (harnessUp) {
      await swarmDown();
      expect(await swarmLeftovers(), "nothing of the harness is left").to.equal("");
    }
    if (figures.length > 0) console.log(`    figures:\n${figures.map((f) => `      ${f}`).join("\n")}`);
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed" && agent) {
      console.error(`--- agent output (last 60 lines) ---\n${agent.output.slice(-60).join("\n")}`);
    }
  });

  it("1. lists all three nodes with role, availability, status, resources and labels; the cluster is online", async () => {
    const nodes = await until(
      "three nodes in the inventory",
      async () => {
        const items = await getNodes();
        return items.length === 3 ? items : undefined;
      },
      30_000,
    );
    const byHost = Object.fromEntries(nodes.map((n) => [n.hostname, n]));
    expect(Object.keys(byHost).sort()).to.deep.equal(["sy-mn-m", "sy-mn-w1", "sy-mn-w2"]);
    expect(byHost["sy-mn-m"]).to.include({ role: "manager", availability: "active", status: "ready" });
    expect(byHost["sy-mn-w1"]).to.include({ role: "worker", availability: "active", status: "ready" });
    expect(byHost[hostnameOf(LABELLED_WORKER)]?.labels).to.deep.equal({ [WORKER_LABEL.key]: WORKER_LABEL.value });
    expect(byHost["sy-mn-w1"]?.labels).to.deep.equal({});
    for (const n of nodes) {
      expect(n.resources.nanoCpus, n.hostname).to.be.greaterThan(0);
      expect(n.resources.memoryBytes, n.hostname).to.be.greaterThan(0);
      expect(n.resources.address, n.hostname).to.match(/^10\.231\.0\.1\d$/);
    }
    const swarmIds = (await dockerOn("m", "node", "ls", "--format", "{{.ID}}")).split("\n").sort();
    expect(nodes.map((n) => n.nodeId).sort()).to.deep.equal(swarmIds);
    const cluster = await until(
      "the cluster to be online",
      async () => {
        const c = await getCluster();
        return c.status === "online" ? c : undefined;
      },
      20_000,
    );
    expect(cluster.unhealthyNodes).to.deep.equal([]);
  });

  it("2. spreads 4 replicas over the three nodes; the status shows which node runs each task", async () => {
    const created = await deploy("main", compose({ command: ["sleep", "3600"], replicas: 4 }));
    const final = await finalOf(created.id);
    expect(final.status, final.errorMessage ?? "").to.equal("SUCCEEDED");
    const counts = await runningByNode("main");
    expect([...counts.values()].reduce((a, b) => a + b, 0)).to.equal(4);
    expect([...counts.keys()].sort()).to.deep.equal(["sy-mn-m", "sy-mn-w1", "sy-mn-w2"]);
    // The same placement as Swarm's own view.
    const swarmView = (
      await dockerOn(
        "m",
        "service",
        "ps",
        `${stackName}-main_app`,
        "--filter",
        "desired-state=running",
        "--format",
        "{{.Node}}",
      )
    )
      .split("\n")
      .sort();
    const apiView = [...counts.entries()].flatMap(([host, n]) => Array<string>(n).fill(host)).sort();
    expect(apiView).to.deep.equal(swarmView);
  });

  it("3. a constraint no node satisfies fails with the scheduler's reason; one only the labelled worker satisfies runs there", async () => {
    const nobody = await deploy(
      "tight",
      compose({ command: ["sleep", "3600"], replicas: 1, constraint: "node.labels.nowhere == true" }),
    );
    const failed = await finalOf(nobody.id, 60_000);
    expect(failed.status).to.equal("FAILED");
    expect(failed.errorMessage).to.match(/no suitable node/);
    expect(failed.errorMessage).to.match(/constraint/);

    const labelled = await deploy(
      "tight",
      compose({
        command: ["sleep", "3600"],
        replicas: 2,
        constraint: `node.labels.${WORKER_LABEL.key} == ${WORKER_LABEL.value}`,
      }),
    );
    const ok = await finalOf(labelled.id, 60_000);
    expect(ok.status, ok.errorMessage ?? "").to.equal("SUCCEEDED");
    expect([...(await runningByNode("tight")).entries()]).to.deep.equal([[hostnameOf(LABELLED_WORKER), 2]]);
  });

  it('4. an image only the manager has: the deployment fails naming a worker and "No such image", not a hang', async () => {
    const started = Date.now();
    const created = await deploy(
      "tight",
      compose({ command: ["sleep", "3600"], replicas: 3 }).replace(TEST_IMAGE, MANAGER_ONLY_IMAGE),
    );
    const final = await finalOf(created.id, 60_000);
    figures.push(`image missing on the workers: FAILED after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(final.status).to.equal("FAILED");
    expect(final.errorMessage, final.errorMessage ?? "").to.match(/No such image: stackyard\/busybox:manager-only/);
    expect(final.errorMessage, final.errorMessage ?? "").to.match(/on node sy-mn-w[12]/);
    // Well before the environment's 15 s timeout: the rejections end it, not the clock.
    expect(final.errorMessage).not.to.match(/timed out/);
  });

  it("5. a node drained mid-deploy: the deployment converges on the remaining nodes and the events say so", async () => {
    // With Swarm's default failure_action (pause), a drain that stops a task the rolling update has just started
    // counts as that task's early termination and pauses the update (the deployment then fails saying so, as
    // test 4 shows for a paused update); `continue` lets the update carry on, so the outcome is deterministic.
    const created = await deploy(
      "main",
      compose({ command: ["sh", "-c", "exec sleep 3600"], replicas: 4, env: { ROUND: "drain" } }).replace(
        "update_config: { parallelism: 2, monitor: 1s }",
        "update_config: { parallelism: 2, monitor: 1s, failure_action: continue }",
      ),
    );
    await until(
      "the deployment to run",
      async () => ((await getDeployment(created.id)).status === "RUNNING" ? true : undefined),
      30_000,
    );
    await setAvailability("w1", "drain");
    const drainedAt = Date.now();
    const seen = await until(
      "the drain in the node inventory",
      async () => {
        const n = await nodeByHost("w1");
        return n.availability === "drain" ? Date.now() : undefined;
      },
      INVENTORY_INTERVAL_MS + 5_000,
    );
    figures.push(`drain shown by /nodes after ${((seen - drainedAt) / 1000).toFixed(1)} s`);
    const final = await finalOf(created.id);
    expect(final.status, final.errorMessage ?? "").to.equal("SUCCEEDED");
    const counts = await until(
      "4 tasks off the drained node",
      async () => {
        const c = await runningByNode("main");
        const total = [...c.values()].reduce((a, b) => a + b, 0);
        return total === 4 && !c.has("sy-mn-w1") ? c : undefined;
      },
      30_000,
    );
    expect([...counts.keys()].sort()).to.deep.equal(["sy-mn-m", "sy-mn-w2"]);
    const messages = await eventMessages(created.id);
    expect(
      messages.some((m) => /4\/4 replicas running/.test(m)),
      messages.join("\n"),
    ).to.equal(true);
    await setAvailability("w1", "active");
    await until(
      "w1 active again in the inventory",
      async () => ((await nodeByHost("w1")).availability === "active" ? true : undefined),
      INVENTORY_INTERVAL_MS + 5_000,
    );
  });

  it("6. a worker daemon killed mid-deploy: degraded naming it, a truthful outcome, rescheduled, online when back", async function () {
    this.timeout(240_000);
    const first = await finalOf((await deploy("kill", compose({ command: ["sleep", "3600"], replicas: 4 }))).id);
    expect(first.status, first.errorMessage ?? "").to.equal("SUCCEEDED");
    const created = await deploy(
      "kill",
      compose({ command: ["sh", "-c", "exec sleep 3600"], replicas: 4, env: { ROUND: "kill" } }),
    );
    await until(
      "the deployment to run",
      async () => ((await getDeployment(created.id)).status === "RUNNING" ? true : undefined),
      30_000,
    );
    await killDaemon("w1");
    const killedAt = Date.now();
    const swarmSaw = watchSwarm("w1", (s) => s.status === "down");
    const degraded = await until(
      "the cluster to turn degraded",
      async () => {
        const c = await getCluster();
        return c.status === "degraded" ? c : undefined;
      },
      90_000,
    );
    const degradedAt = Date.now();
    const swarmDownAt = await swarmSaw;
    figures.push(
      `worker dockerd killed → cluster degraded in the API: ${((degradedAt - killedAt) / 1000).toFixed(1)} s ` +
        `(Swarm itself marked the node down after ${((swarmDownAt - killedAt) / 1000).toFixed(1)} s)`,
    );
    expect(degradedAt - swarmDownAt, "degraded within one inventory interval of Swarm noticing").to.be.below(
      INVENTORY_INTERVAL_MS + 1_000,
    );
    expect(degraded.unhealthyNodes).to.deep.equal(["sy-mn-w1"]);
    expect((await nodeByHost("w1")).status).to.be.oneOf(["down", "disconnected", "unknown"]);

    const final = await finalOf(created.id, 120_000);
    const messages = await eventMessages(created.id);
    // Truthful: SUCCEEDED only with 4 replicas really running on live nodes; FAILED only with a reason.
    if (final.status === "SUCCEEDED") {
      const counts = await runningByNode("kill");
      expect(counts.has("sy-mn-w1"), JSON.stringify([...counts])).to.equal(false);
      expect([...counts.values()].reduce((a, b) => a + b, 0)).to.equal(4);
    } else {
      expect(final.status, messages.join("\n")).to.equal("FAILED");
      expect(final.errorMessage).to.be.a("string").and.not.equal("");
    }
    figures.push(`deployment with a worker killed mid-deploy ended ${final.status} (${final.errorMessage ?? "ok"})`);
    // Swarm rescheduled: 4 running tasks on the two live nodes, as Swarm itself sees it.
    await until(
      "Swarm to reschedule onto the live nodes",
      async () => {
        const nodes = (
          await dockerOn(
            "m",
            "service",
            "ps",
            `${stackName}-kill_app`,
            "--filter",
            "desired-state=running",
            "--format",
            "{{.Node}} {{.CurrentState}}",
          )
        )
          .split("\n")
          .filter((l) => / Running /.test(l));
        return nodes.length === 4 && nodes.every((l) => !l.startsWith("sy-mn-w1 ")) ? true : undefined;
      },
      60_000,
    );

    const restartedAt = Date.now();
    await startDaemon("w1");
    const online = await until(
      "the cluster to be online again",
      async () => {
        const c = await getCluster();
        return c.status === "online" ? c : undefined;
      },
      90_000,
    );
    figures.push(
      `worker dockerd restarted → cluster online in the API: ${((Date.now() - restartedAt) / 1000).toFixed(1)} s`,
    );
    expect(online.unhealthyNodes).to.deep.equal([]);
    expect((await nodeByHost("w1")).status).to.equal("ready");
  });

  it("7. node actions through the API and the agent: CLUSTER_ADMIN only, audited, on the real node", async () => {
    const viewer = await createUserWithRole(api, org, "VIEWER");
    const before = (await swarmNodeState("w1")).availability;
    const refused = await patchNode("w1", { availability: before === "pause" ? "active" : "pause" }, viewer.auth);
    expect(refused.status).to.equal(403);
    expect((await swarmNodeState("w1")).availability, "a refused change changes nothing").to.equal(before);
    const bad = await patchNode("w1", { labels: { "no spaces": "x" } });
    expect(bad.status).to.equal(400);
    const empty = await patchNode("w1", {});
    expect(empty.status).to.equal(400);

    const paused = await setAvailability("w1", "pause");
    expect(paused.status).to.equal("ready");
    expect((await swarmNodeState("w1")).availability).to.equal("pause");
    const labelled = await patchNode("w1", { labels: { zone: "b", "stackyard.tier": "edge" } });
    expect(labelled.status, JSON.stringify(labelled.body)).to.equal(200);
    expect(labelled.body.labels).to.deep.equal({ zone: "b", "stackyard.tier": "edge" });
    expect(labelled.body.availability, "labels alone leave availability as it was").to.equal("pause");
    const swarmLabels = JSON.parse(
      await dockerOn("m", "node", "inspect", "--format", "{{json .Spec.Labels}}", hostnameOf("w1")),
    ) as Record<string, string>;
    expect(swarmLabels).to.deep.equal({ zone: "b", "stackyard.tier": "edge" });
    await setAvailability("w1", "active");
    // The stored node list shows it: the answer is stored at once, but an inventory snapshot the agent took just
    // before the change can arrive after the answer and show the previous availability until the change's own
    // Docker event brings the next snapshot (about a second; seen once in CI since per-org accounts).
    const listed = await untilEvery("the stored node list to show w1 active", async () => {
      const n = await nodeByHost("w1");
      return n.availability === "active" ? n : undefined;
    });
    expect(listed).to.deep.include({ availability: "active", labels: { zone: "b", "stackyard.tier": "edge" } });

    const unknown = await api.request<{ error: { code: string } }>(
      "PATCH",
      `${clusterPath()}/nodes/00000000-0000-4000-8000-000000000000`,
      { body: { availability: "drain" }, headers: clusterAdminAuth },
    );
    expect(unknown.status).to.equal(404);
    expect(unknown.body.error.code).to.equal("NODE_NOT_FOUND");

    const audit = await api.get<{ items: Array<{ action: string; data: Record<string, unknown> }> }>(
      `/v1/orgs/${org.orgId}/audit?action=node.update&limit=20`,
      auth(),
    );
    expect(audit.status).to.equal(200);
    const w1Entries = audit.body.items.filter((e) => e.data.node === "sy-mn-w1");
    expect(w1Entries.map((e) => e.data.outcome)).to.include("succeeded");
    expect(w1Entries.some((e) => e.data.availability === "pause")).to.equal(true);
    expect(
      w1Entries.some((e) => JSON.stringify(e.data.labels) === JSON.stringify(["stackyard.tier", "zone"])),
    ).to.equal(true);
  });

  it("8. a worker that leaves shows down within one inventory interval, and is gone once removed", async () => {
    await dockerOn("w2", "swarm", "leave");
    const leftAt = Date.now();
    const swarmSaw = watchSwarm("w2", (s) => s.status === "down");
    await until(
      "w2 down in the inventory",
      async () => ((await nodeByHost("w2")).status === "down" ? true : undefined),
      60_000,
    );
    const shownAt = Date.now();
    const swarmDownAt = await swarmSaw;
    figures.push(
      `worker left → /nodes shows it down: ${((shownAt - leftAt) / 1000).toFixed(1)} s ` +
        `(Swarm itself: ${((swarmDownAt - leftAt) / 1000).toFixed(1)} s)`,
    );
    expect(shownAt - swarmDownAt).to.be.below(INVENTORY_INTERVAL_MS + 1_000);
    expect((await getCluster()).unhealthyNodes).to.deep.equal(["sy-mn-w2"]);
    await dockerOn("m", "node", "rm", "--force", hostnameOf("w2"));
    const removedAt = Date.now();
    await until(
      "w2 gone from the inventory",
      async () => ((await getNodes()).length === 2 ? true : undefined),
      INVENTORY_INTERVAL_MS + 5_000,
    );
    figures.push(`node removed → gone from /nodes: ${((Date.now() - removedAt) / 1000).toFixed(1)} s`);
    expect((await getCluster()).status).to.equal("online");
  });
});

/**
 * docker-compose.dev.yml run for real (`make test-compose`, through scripts/test-compose.sh, which builds the
 * stand-in base images and the test image first and hands over a snapshot of the working tree): `up --build -d`
 * under a project name of its own on free ports, then everything is checked through the HTTP API only — the
 * first-run password the bootstrap printed exactly once logs in, the cluster `local` is online with its two swarm
 * nodes, a stack created, released and deployed through the API reaches SUCCEEDED with its tasks on both nodes —
 * and `down -v` leaves no container, volume or network of the project behind. Every answer is checked against
 * the OpenAPI contract. Not part of `npm test` (its own mocha config: test/compose/.mocharc.run.json).
 *
 * Set by scripts/test-compose.sh: STACKYARD_COMPOSE_TEST_DIR (the tree to run compose in), _FILES (compose
 * files), _ENV_FILE (the base-image variables), _PROJECT, STACKYARD_COMPOSE_CMD (`docker compose` or
 * `docker-compose`).
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { loadOpenApi } from "../../services/_shared/openapi.js";
import { ContractClient } from "../../services/_shared/testing/http.js";
import { OpenApiContract } from "../../services/_shared/testing/openapi-contract.js";
import { TEST_IMAGE } from "../../services/_shared/testing/swarm.js";
import { sleep } from "../../services/_shared/testing/wait.js";
import { FIRST_ADMIN_EMAIL, LOCAL_CLUSTER_NAME } from "../../scripts/compose-bootstrap.js";
import { ROOT } from "./compose.js";

const run = promisify(execFile);
const PROJECT = process.env.STACKYARD_COMPOSE_TEST_PROJECT ?? "stackyard-compose-test";
const DIR = process.env.STACKYARD_COMPOSE_TEST_DIR ?? ROOT;
const FILES = (process.env.STACKYARD_COMPOSE_TEST_FILES ?? "docker-compose.dev.yml").split(/\s+/).filter(Boolean);
const COMPOSE_CMD = (process.env.STACKYARD_COMPOSE_CMD ?? "docker compose").split(/\s+/).filter(Boolean);
const ENV_FILE = process.env.STACKYARD_COMPOSE_TEST_ENV_FILE ?? "";
const ARTIFACTS = join(ROOT, "test-artifacts", "compose-test");
const UP_TIMEOUT_MS = 30 * 60_000;
const CONVERGE_TIMEOUT_MS = 10 * 60_000;
const DEPLOY_TIMEOUT_MS = 5 * 60_000;
const POLL_MS = 2_000;
const STACK_NAME = `composetest${randomBytes(3).toString("hex")}`;

interface ClusterBody {
  id: string;
  name: string;
  status: string;
  facts: Record<string, unknown>;
}
interface NodeBody {
  nodeId: string;
  hostname: string;
  role: string;
  status: string;
  availability: string;
}
interface DeploymentBody {
  id: string;
  status: "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELED";
  errorMessage: string | null;
}
interface StatusBody {
  services: Array<{
    name: string;
    desiredReplicas: number;
    runningReplicas: number;
    tasks: Array<{ state: string; desiredState: string; nodeId: string | null }>;
  }>;
}

/** A port nobody listens on right now (the kernel picks it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** A /24 for the swarm network that no Docker network of this machine uses (172.30.220-250.0/24). */
async function freeSubnet(): Promise<string> {
  const ids = (await run("docker", ["network", "ls", "-q"])).stdout.split("\n").filter(Boolean);
  const used = ids.length
    ? (await run("docker", ["network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", ...ids]))
        .stdout
    : "";
  for (let third = 220; third <= 250; third++) {
    const prefix = `172.30.${third}.`;
    // Any network inside 172.30.0.0/16 that contains or lies in this /24 collides; wider ones are rare here.
    if (!used.split(/\s+/).some((s) => s.startsWith(prefix) || s === "172.30.0.0/16")) return `${prefix}0/24`;
  }
  throw new Error("no free 172.30.x.0/24 for the swarm network");
}

function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

describe(`docker-compose.dev.yml, run (project ${PROJECT})`, function () {
  let env: NodeJS.ProcessEnv;
  let api: ContractClient;
  let httpPort = 0;
  let password = "";
  let auth: Record<string, string> = {};
  let orgId = "";
  let cluster: ClusterBody | null = null;
  let nodes: NodeBody[] = [];
  let started = false;

  const composeArgs = (args: string[]): string[] => [
    ...COMPOSE_CMD.slice(1),
    "-p",
    PROJECT,
    ...FILES.flatMap((f) => ["-f", f]),
    ...args,
  ];

  /** A compose command whose output goes to test-artifacts/compose-test/<log>; rejects on a non-zero exit. */
  async function composeLogged(args: string[], log: string, timeoutMs: number): Promise<void> {
    const out = createWriteStream(join(ARTIFACTS, log), { flags: "a" });
    const child = spawn(COMPOSE_CMD[0]!, composeArgs(args), { cwd: DIR, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    clearTimeout(timer);
    out.end();
    if (code !== 0) {
      const tail = (await readFile(join(ARTIFACTS, log), "utf8")).split("\n").slice(-40).join("\n");
      throw new Error(`${COMPOSE_CMD.join(" ")} ${args.join(" ")} exited with ${code}:\n${tail}`);
    }
  }

  async function compose(args: string[], timeoutMs = 120_000): Promise<string> {
    const { stdout } = await run(COMPOSE_CMD[0]!, composeArgs(args), {
      cwd: DIR,
      env,
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  }

  async function containerOf(service: string): Promise<string> {
    const id = (await compose(["ps", "-q", service])).trim().split("\n")[0] ?? "";
    if (!id) throw new Error(`no container for service ${service}`);
    return id;
  }

  /** Polls `probe` until it returns a value; the last observation goes into the timeout's message. */
  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown = undefined;
    while (Date.now() < deadline) {
      try {
        const value = await probe();
        if (value !== undefined) return value;
      } catch (err) {
        last = err;
      }
      await sleep(POLL_MS);
    }
    throw new Error(
      `timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`,
    );
  }

  const bootstrapPasswords = async (): Promise<string[]> =>
    [...(await compose(["logs", "--no-color", "bootstrap"])).matchAll(/\bpassword: (\S+)/g)].map((m) => m[1]!);

  before(async function () {
    this.timeout(60_000);
    await mkdir(ARTIFACTS, { recursive: true });
    await writeFile(join(ARTIFACTS, "up.log"), "");
    await rm(join(ARTIFACTS, "failure.log"), { force: true });
    const images = ENV_FILE ? parseEnvFile(await readFile(ENV_FILE, "utf8")) : {};
    const subnet = await freeSubnet();
    const base = subnet.replace(/0\/24$/, "");
    httpPort = await freePort();
    env = {
      ...process.env,
      ...images,
      STACKYARD_HTTP_PORT: String(httpPort),
      STACKYARD_NATS_PORT: String(await freePort()),
      STACKYARD_NATS_WS_PORT: String(await freePort()),
      STACKYARD_NATS_LEAF_PORT: String(await freePort()),
      STACKYARD_SWARM_SUBNET: subnet,
      STACKYARD_SWARM_MANAGER_IP: `${base}10`,
      STACKYARD_SWARM_WORKER_IP: `${base}11`,
    };
    // The contract of the tree being run (it may differ from this checkout's while others edit it).
    api = new ContractClient(
      `http://127.0.0.1:${httpPort}`,
      new OpenApiContract(loadOpenApi(join(DIR, "openapi/openapi.yaml"))),
    );
    console.log(
      `      compose: ${COMPOSE_CMD.join(" ")} -p ${PROJECT} ${FILES.map((f) => `-f ${f}`).join(" ")}; ` +
        `API on 127.0.0.1:${httpPort}, swarm subnet ${subnet}; ` +
        `images: ${Object.values(images).join(", ") || "official"}`,
    );
    // A previous run killed half-way leaves its project behind.
    await compose(["down", "-v", "--remove-orphans", "--timeout", "5"], 180_000);
  });

  afterEach(async function () {
    if (this.currentTest?.state !== "failed" || !started) return;
    try {
      const ps = await compose(["ps"]);
      const logs = await compose(["logs", "--no-color", "--tail", "60"]);
      await writeFile(join(ARTIFACTS, "failure.log"), `${ps}\n${logs}`);
      console.log(`${ps}\n${logs.split("\n").slice(-150).join("\n")}\n(all of it in ${ARTIFACTS})`);
    } catch (err) {
      console.log(`could not collect the compose logs: ${String(err)}`);
    }
  });

  after(async function () {
    this.timeout(300_000);
    // Whatever happened: nothing of the project stays (the last test checks that this works).
    await compose(["down", "-v", "--remove-orphans", "--timeout", "5"], 240_000).catch((err: unknown) => {
      console.log(`down -v failed: ${String(err)}`);
    });
  });

  it("builds, then up --build -d converges: the cluster `local` turns online with 2 swarm nodes", async function () {
    this.timeout(2 * UP_TIMEOUT_MS + CONVERGE_TIMEOUT_MS);
    started = true;
    // Built first on its own, so the time `up` takes to converge is not mostly image builds.
    const tBuild = Date.now();
    await composeLogged(["build"], "up.log", UP_TIMEOUT_MS);
    const buildSeconds = Math.round((Date.now() - tBuild) / 1000);
    const t0 = Date.now();
    await composeLogged(["up", "--build", "-d"], "up.log", UP_TIMEOUT_MS);
    const upReturned = (Date.now() - t0) / 1000;

    password = await until(
      "the bootstrap to print the first-run password",
      async () => (await bootstrapPasswords())[0],
      CONVERGE_TIMEOUT_MS,
    );
    const login = await until(
      "the gateway to accept the first-run password",
      async () => {
        const res = await api.request<{ accessToken: string; user: { orgId: string } }>("POST", "/v1/auth/login", {
          body: { email: FIRST_ADMIN_EMAIL, password },
        });
        return res.status === 200 ? res.body : undefined;
      },
      CONVERGE_TIMEOUT_MS,
    );
    auth = { authorization: `Bearer ${login.accessToken}` };
    orgId = login.user.orgId;

    const converged = await until(
      `cluster ${LOCAL_CLUSTER_NAME} online with 2 ready nodes`,
      async () => {
        const clusters = await api.get<{ items: ClusterBody[] }>(`/v1/orgs/${orgId}/clusters`, auth);
        const local = clusters.body.items.find((c) => c.name === LOCAL_CLUSTER_NAME);
        if (clusters.status !== 200 || local?.status !== "online" || local.facts.nodeCount !== 2) return undefined;
        const res = await api.get<{ items: NodeBody[] }>(`/v1/orgs/${orgId}/clusters/${local.id}/nodes`, auth);
        const ready = res.body.items.filter((n) => n.status === "ready");
        return ready.length === 2 ? { local, nodes: res.body.items } : undefined;
      },
      CONVERGE_TIMEOUT_MS,
    );
    cluster = converged.local;
    nodes = converged.nodes;
    const seconds = Math.round((Date.now() - t0) / 1000);
    console.log(
      `      compose build: ${buildSeconds} s; up --build -d converged in ${seconds} s (it returned after ` +
        `${Math.round(upReturned)} s; cluster ${LOCAL_CLUSTER_NAME} online with ${nodes.length} ready nodes)`,
    );
    await writeFile(join(ARTIFACTS, "timings"), `build_seconds=${buildSeconds}\nconverge_seconds=${seconds}\n`);
  });

  it("the bootstrap printed the first-run password exactly once, also after running again, and it logs in", async function () {
    this.timeout(180_000);
    expect(await bootstrapPasswords()).to.deep.equal([password]);
    // The bootstrap runs on every `up`: a second run must not create or print anything again.
    await compose(["up", "-d", "--no-deps", "--no-build", "bootstrap"], 120_000);
    const bootstrap = await containerOf("bootstrap");
    const exit = (await run("docker", ["wait", bootstrap], { timeout: 120_000 })).stdout.trim();
    expect(exit, "the second bootstrap run's exit code").to.equal("0");
    const logs = await compose(["logs", "--no-color", "bootstrap"]);
    expect(logs).to.match(/already has a registered agent/);
    expect(await bootstrapPasswords()).to.deep.equal([password]);

    const me = await api.get<{ user: { email: string }; role: string }>("/v1/auth/me", auth);
    expect(me.status).to.equal(200);
    expect(me.body.user.email).to.equal(FIRST_ADMIN_EMAIL);
    expect(me.body.role).to.equal("ORG_ADMIN");
    const wrong = await api.request("POST", "/v1/auth/login", {
      body: { email: FIRST_ADMIN_EMAIL, password: `${password}x` },
    });
    expect(wrong.status).to.equal(401);
  });

  it("the cluster `local` is online with a manager and a worker node, both ready", async () => {
    const res = await api.get<ClusterBody>(`/v1/orgs/${orgId}/clusters/${cluster!.id}`, auth);
    expect(res.status).to.equal(200);
    expect(res.body.status).to.equal("online");
    expect(res.body.facts).to.include({ swarmState: "active", isManager: true, nodeCount: 2, managerCount: 1 });
    expect(nodes.map((n) => [n.hostname, n.role, n.status, n.availability]).sort()).to.deep.equal([
      ["swarm-manager", "manager", "ready", "active"],
      ["swarm-worker", "worker", "ready", "active"],
    ]);
  });

  it("a stack created, released and deployed through the API reaches SUCCEEDED with its tasks on both nodes", async function () {
    this.timeout(DEPLOY_TIMEOUT_MS + 180_000);
    // No registry: the dind nodes get the test image from this machine's image store.
    for (const service of ["swarm-manager", "swarm-worker"]) {
      const node = await containerOf(service);
      await run("sh", ["-c", `docker save "$1" | docker exec -i "$2" docker load`, "sh", TEST_IMAGE, node], {
        timeout: 180_000,
      });
    }

    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${orgId}/stacks`, {
      headers: auth,
      body: { name: STACK_NAME, description: "make test-compose" },
    });
    expect(stack.status, JSON.stringify(stack.body)).to.equal(201);
    const environment = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      headers: auth,
      body: {
        name: "dev",
        clusterId: cluster!.id,
        imageResolution: "never",
        deployTimeoutSeconds: DEPLOY_TIMEOUT_MS / 1000 - 30,
      },
    });
    expect(environment.status, JSON.stringify(environment.body)).to.equal(201);
    // Two replicas, at most one per node: the scheduler must use both nodes.
    const composeYaml = `services:
  app:
    image: ${TEST_IMAGE}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    deploy:
      replicas: 2
      placement:
        max_replicas_per_node: 1
      update_config: { parallelism: 2, monitor: 1s }
      restart_policy: { condition: any, delay: 1s }
`;
    const release = await api.request<{ id: string; version: number }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
      headers: auth,
      body: { sourceType: "upload", composeYaml },
    });
    expect(release.status, JSON.stringify(release.body)).to.equal(201);
    expect(release.body.version).to.equal(1);

    const created = await api.request<DeploymentBody>("POST", `/v1/environments/${environment.body.id}/deployments`, {
      headers: { ...auth, "idempotency-key": `compose-test-${STACK_NAME}` },
      body: { releaseId: release.body.id },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(202);
    const done = await until(
      `deployment ${created.body.id} to finish`,
      async () => {
        const res = await api.get<DeploymentBody>(`/v1/deployments/${created.body.id}`, auth);
        return ["SUCCEEDED", "FAILED", "CANCELED"].includes(res.body.status) ? res.body : undefined;
      },
      DEPLOY_TIMEOUT_MS,
    );
    expect(done.status, `deployment ${done.status}: ${done.errorMessage ?? ""}`).to.equal("SUCCEEDED");

    const status = await until(
      "the environment's status to show 2 running tasks",
      async () => {
        const res = await api.get<StatusBody>(`/v1/environments/${environment.body.id}/status`, auth);
        const app = res.body.services.find((s) => s.name === "app");
        return app && app.runningReplicas === 2 ? app : undefined;
      },
      60_000,
    );
    expect(status.desiredReplicas).to.equal(2);
    const running = status.tasks.filter((t) => t.state === "running");
    expect(running).to.have.length(2);
    expect(new Set(running.map((t) => t.nodeId))).to.deep.equal(new Set(nodes.map((n) => n.nodeId)));
  });

  it("down -v removes every container, volume and network of the project", async function () {
    this.timeout(300_000);
    await compose(["down", "-v", "--remove-orphans", "--timeout", "5"], 240_000);
    const label = `label=com.docker.compose.project=${PROJECT}`;
    const list = async (...args: string[]): Promise<string[]> =>
      (await run("docker", args)).stdout.split("\n").filter(Boolean);
    expect(await list("ps", "-a", "-q", "--filter", label), "containers").to.deep.equal([]);
    expect(await list("volume", "ls", "-q", "--filter", label), "volumes").to.deep.equal([]);
    expect(await list("network", "ls", "-q", "--filter", label), "networks").to.deep.equal([]);
    // Compose names its volumes and networks <project>_<name>: none by that name either.
    const named = [
      ...(await list("volume", "ls", "--format", "{{.Name}}")),
      ...(await list("network", "ls", "--format", "{{.Name}}")),
    ].filter((name) => name.startsWith(`${PROJECT}_`));
    expect(named).to.deep.equal([]);
  });
});

/**
 * Deleting an environment end to end on the real single-node Swarm (real control plane, real agent, real
 * dockerd): the agent's RemoveStack removes environment A's Swarm stack (services, network, secrets) and nothing
 * else — not environment B's stack, not an unmanaged stack whose name starts like A's, not a hand-made service in
 * A's own namespace without A's label, not a hand-made secret named like A's.
 *
 * Everything is named `life<random>…`; `after` removes what is left.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
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
  testStackCompose as compose,
  type AgentProcess,
} from "../../services/_shared/testing/swarm.js";
import { until as untilEvery } from "../../services/_shared/testing/wait.js";
import { startTestStack, stopTestStack } from "../../services/_shared/testing/stack.js";

const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> =>
  untilEvery(what, probe, timeoutMs, 300);

interface Environment {
  id: string;
  swarmStack: string;
}
interface DeletedEnvironment {
  keptRunning: boolean;
  removed: { services: string[]; networks: string[]; secrets: string[]; configs: string[] } | null;
  leftInPlace: { services: string[]; networks: string[]; secrets: string[]; configs: string[] } | null;
}

const lines = (text: string) => text.split("\n").filter(Boolean).sort();

describe("deleting an environment removes its Swarm stack and nothing else (real agent, real Swarm)", function () {
  this.timeout(120_000);
  const stackName = `life${randomBytes(4).toString("hex")}`;
  /** Unmanaged: a stack whose name begins with A's Swarm stack name. */
  const lookalike = `${stackName}-a-copy`;
  const handService = `${stackName}-a_handmade`;
  const handSecret = `${stackName}-a_db_password_handmade`;
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let stateDir: string;
  let agent: AgentProcess | null = null;
  let stackId: string;
  const envs: Record<"a" | "b", Environment> = { a: { id: "", swarmStack: "" }, b: { id: "", swarmStack: "" } };

  const auth = () => org.admin.auth;
  const servicesOf = async (namespace: string) =>
    lines(
      await docker(
        "service",
        "ls",
        "--filter",
        `label=com.docker.stack.namespace=${namespace}`,
        "--format",
        "{{.Name}}",
      ),
    );
  const networksOf = async (namespace: string) =>
    lines(
      await docker(
        "network",
        "ls",
        "--filter",
        `label=com.docker.stack.namespace=${namespace}`,
        "--format",
        "{{.Name}}",
      ),
    );
  const secretsOf = async (env: Environment) =>
    lines(
      await docker("secret", "ls", "--filter", `label=io.stackyard.environment=${env.id}`, "--format", "{{.Name}}"),
    );
  const versionOf = async (service: string) =>
    (JSON.parse(await docker("service", "inspect", service)) as Array<{ Version: { Index: number } }>)[0]!.Version
      .Index;

  async function deployOk(env: Environment, releaseId: string) {
    const res = await api.request<{ id: string }>("POST", `/v1/environments/${env.id}/deployments`, {
      body: { releaseId },
      headers: { ...auth(), "idempotency-key": randomBytes(8).toString("hex") },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    const final = await until(`deployment ${res.body.id} to end`, async () => {
      const d = (
        await api.get<{ status: string; errorMessage: string | null }>(`/v1/deployments/${res.body.id}`, auth())
      ).body;
      return d.status === "PENDING" || d.status === "RUNNING" ? undefined : d;
    });
    expect(final.status, final.errorMessage ?? "").to.equal("SUCCEEDED");
  }

  before(async function () {
    this.timeout(180_000);
    await prepareSwarm();
    ({ db, nats, platform, api } = await startTestStack());
    org = await createOrgWithAdmin(api);
    stateDir = await mkdtemp(join(tmpdir(), "stackyard-e2e-life-agent-"));
    const cluster = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { body: { name: "life-swarm" }, headers: auth() },
    );
    expect(cluster.status).to.equal(201);
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
    stackId = stack.body.id;
    for (const name of ["a", "b"] as const) {
      const env = await api.request<Environment>("POST", `/v1/stacks/${stackId}/environments`, {
        body: { name, clusterId: cluster.body.cluster.id, imageResolution: "never", deployTimeoutSeconds: 60 },
        headers: auth(),
      });
      expect(env.status, JSON.stringify(env.body)).to.equal(201);
      envs[name] = env.body;
      const secret = await api.request("PUT", `/v1/environments/${env.body.id}/secrets/db_password`, {
        body: { value: `${name}-${randomBytes(8).toString("hex")}` },
        headers: auth(),
      });
      expect(secret.status).to.equal(201);
    }
    const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/releases`, {
      body: {
        sourceType: "upload",
        composeYaml: `${compose({ command: ["sleep", "3600"], replicas: 1 })}secrets:\n  db_password:\n    external: true\n`,
      },
      headers: auth(),
    });
    expect(release.status, JSON.stringify(release.body)).to.equal(201);
    await deployOk(envs.a, release.body.id);
    await deployOk(envs.b, release.body.id);

    // What Stackyard does not own: a look-alike stack, a service in A's namespace, a secret named like A's.
    const dir = await mkdtemp(join(tmpdir(), "stackyard-e2e-life-"));
    await writeFile(join(dir, "compose.yml"), compose({ command: ["sleep", "3600"], replicas: 1 }));
    await docker("stack", "deploy", "-c", join(dir, "compose.yml"), lookalike);
    await rm(dir, { recursive: true, force: true });
    await docker(
      "service",
      "create",
      "--detach",
      "--name",
      handService,
      "--label",
      `com.docker.stack.namespace=${envs.a.swarmStack}`,
      "--stop-grace-period",
      "1s",
      TEST_IMAGE,
      "sleep",
      "3600",
    );
    // `docker secret create` reads the value from a file (execFile gives it no stdin).
    const secretDir = await mkdtemp(join(tmpdir(), "stackyard-e2e-life-secret-"));
    await writeFile(join(secretDir, "value"), "handmade");
    await docker("secret", "create", handSecret, join(secretDir, "value"));
    await rm(secretDir, { recursive: true, force: true });
  });

  after(async function () {
    this.timeout(180_000);
    await stopAgent(agent);
    await docker("service", "rm", handService).catch(() => undefined);
    for (const name of [envs.a.swarmStack, envs.b.swarmStack, lookalike]) {
      if (name) await removeStack(name).catch((err: unknown) => console.error(String(err)));
    }
    await docker("secret", "rm", handSecret).catch(() => undefined);
    await stopTestStack({ db, nats, platform });
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed" && agent) {
      console.error(`--- agent output (last 80 lines) ---\n${agent.output.slice(-80).join("\n")}`);
    }
  });

  it("removes A's services, network and secrets; B, the look-alike and the hand-made objects stay", async () => {
    const aSecrets = await secretsOf(envs.a);
    const bSecrets = await secretsOf(envs.b);
    expect(aSecrets).to.have.length(1);
    expect(await servicesOf(envs.a.swarmStack)).to.deep.equal([handService, `${envs.a.swarmStack}_app`].sort());
    const bVersion = await versionOf(`${envs.b.swarmStack}_app`);
    const lookalikeVersion = await versionOf(`${lookalike}_app`);

    const busy = await api.request<{ error: { code: string } }>("DELETE", `/v1/orgs/${org.orgId}/stacks/${stackId}`, {
      headers: auth(),
    });
    expect(busy.status).to.equal(409);
    expect(busy.body.error.code).to.equal("STACK_HAS_ENVIRONMENTS");

    const res = await api.request<DeletedEnvironment>("DELETE", `/v1/environments/${envs.a.id}`, { headers: auth() });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.removed).to.deep.equal({
      services: [`${envs.a.swarmStack}_app`],
      networks: [`${envs.a.swarmStack}_default`],
      secrets: aSecrets,
      configs: [],
    });
    expect(res.body.leftInPlace?.services).to.deep.equal([handService]);

    // A's Swarm stack is gone but for the service Stackyard never owned.
    expect(await servicesOf(envs.a.swarmStack)).to.deep.equal([handService]);
    // The node drops its copy of the overlay network once the last container of A's tasks has exited.
    await until("A's network to leave the node", async () =>
      (await networksOf(envs.a.swarmStack)).length === 0 ? true : undefined,
    );
    expect(await secretsOf(envs.a)).to.deep.equal([]);
    expect(lines(await docker("secret", "ls", "--format", "{{.Name}}"))).to.include(handSecret);
    // B and the look-alike were not even updated.
    expect(await servicesOf(envs.b.swarmStack)).to.deep.equal([`${envs.b.swarmStack}_app`]);
    expect(await versionOf(`${envs.b.swarmStack}_app`)).to.equal(bVersion);
    expect(await secretsOf(envs.b)).to.deep.equal(bSecrets);
    expect(await networksOf(envs.b.swarmStack)).to.deep.equal([`${envs.b.swarmStack}_default`]);
    expect(await servicesOf(lookalike)).to.deep.equal([`${lookalike}_app`]);
    expect(await versionOf(`${lookalike}_app`)).to.equal(lookalikeVersion);
    const stacks = lines(await docker("stack", "ls", "--format", "{{.Name}}"));
    expect(stacks).to.include.members([envs.b.swarmStack, lookalike]);

    // Forgotten by the control plane, history included; the audit trail names what was removed.
    expect((await api.get(`/v1/environments/${envs.a.id}`, auth())).status).to.equal(404);
    expect(await db("deployments").where({ environment_id: envs.a.id })).to.have.length(0);
    const [audit] = await db("audit_events").where({ action: "environment.delete", target_id: envs.a.id });
    expect(audit.data_json.removedObjects).to.include(`service ${envs.a.swarmStack}_app`);
  });

  it("with keepRunning forgets B but leaves its Swarm stack running; then the stack can be deleted", async () => {
    const res = await api.request<DeletedEnvironment>("DELETE", `/v1/environments/${envs.b.id}?keepRunning=true`, {
      headers: auth(),
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body).to.deep.include({ keptRunning: true, removed: null });
    expect(await servicesOf(envs.b.swarmStack)).to.deep.equal([`${envs.b.swarmStack}_app`]);
    const deleted = await api.request("DELETE", `/v1/orgs/${org.orgId}/stacks/${stackId}`, { headers: auth() });
    expect(deleted.status).to.equal(200);
  });
});

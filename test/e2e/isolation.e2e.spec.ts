/**
 * Environments isolated on one shared cluster, end to end on the real single-node Swarm (real control plane, real
 * agent, real dockerd): two environments of one stack deploy into two Swarm stacks and deploy, scale and roll back
 * without touching each other's services or secrets; a Swarm stack made by hand is refused until a deploy adopts
 * it; a secret deleted and created again with a new value is mounted with the new value.
 *
 * Swarm stacks are `iso<random>-dev`, `-staging` and `-hand`; `after` removes them, their networks and secrets.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Db } from "../../services/_shared/db.js";
import { createOrgWithAdmin, type TestOrg } from "../../services/_shared/testing/fixtures.js";
import { ContractClient } from "../../services/_shared/testing/http.js";
import { type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { type TestPlatform } from "../../services/_shared/testing/platform.js";
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

const POLL_MS = 300;
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> =>
  untilEvery(what, probe, timeoutMs, POLL_MS);

interface Deployment {
  id: string;
  status: "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELED";
  releaseId: string;
  kind: string;
  errorMessage: string | null;
  errorCode: string | null;
  adopt: boolean;
}
interface Environment {
  id: string;
  swarmStack: string;
}
interface ServiceInspect {
  Version: { Index: number };
  Spec: {
    Labels?: Record<string, string>;
    Mode: { Replicated?: { Replicas: number } };
    TaskTemplate: {
      ContainerSpec: { Env?: string[]; Secrets?: Array<{ SecretName: string; File?: { Name: string } }> };
    };
  };
}

describe("environments isolated on one shared Swarm (real agent, real control plane)", function () {
  this.timeout(120_000);
  const stackName = `iso${randomBytes(4).toString("hex")}`;
  const values = {
    dev: `dev-secret-${randomBytes(8).toString("hex")}`,
    staging: `staging-secret-${randomBytes(8).toString("hex")}`,
    recreated: `dev-recreated-${randomBytes(8).toString("hex")}`,
  };
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let stateDir: string;
  let agent: AgentProcess | null = null;
  let clusterId: string;
  let stackId: string;
  const envs: Record<"dev" | "staging" | "hand", Environment> = {
    dev: { id: "", swarmStack: "" },
    staging: { id: "", swarmStack: "" },
    hand: { id: "", swarmStack: `${stackName}-hand` },
  };
  const releases = { v1: "", v2: "" };

  const auth = () => org.admin.auth;
  const getDeployment = async (id: string) => (await api.get<Deployment>(`/v1/deployments/${id}`, auth())).body;
  const waitFor = async (id: string, want: Deployment["status"]): Promise<Deployment> => {
    const final = await until(`deployment ${id} to end`, async () => {
      const d = await getDeployment(id);
      return d.status === "PENDING" || d.status === "RUNNING" ? undefined : d;
    });
    expect(final.status, `${final.errorCode ?? ""} ${final.errorMessage ?? ""}`).to.equal(want);
    return final;
  };
  const deploy = async (env: Environment, releaseId: string, extra: Record<string, unknown> = {}) => {
    const res = await api.request<Deployment & { error?: { code: string } }>(
      "POST",
      `/v1/environments/${env.id}/deployments`,
      { body: { releaseId, ...extra }, headers: { ...auth(), "idempotency-key": randomBytes(8).toString("hex") } },
    );
    return res;
  };
  const deployOk = async (env: Environment, releaseId: string) => {
    const res = await deploy(env, releaseId);
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return waitFor(res.body.id, "SUCCEEDED");
  };
  const inspect = async (env: Environment): Promise<ServiceInspect> =>
    (JSON.parse(await docker("service", "inspect", `${env.swarmStack}_app`)) as ServiceInspect[])[0]!;
  /** The service's spec version: it only moves when something updated the service. */
  const versionOf = async (env: Environment) => (await inspect(env)).Version.Index;
  const runningContainer = (env: Environment) =>
    until(`a running task of ${env.swarmStack}_app`, async () => {
      const ids = await docker(
        "ps",
        "-q",
        "--filter",
        `label=com.docker.swarm.service.name=${env.swarmStack}_app`,
        "--filter",
        "status=running",
      );
      return ids.split("\n").filter(Boolean)[0];
    });
  /** The mounted value, read from inside a running task that runs the service's current spec. */
  const mountedSecret = async (env: Environment, expected: string) =>
    until(`${env.swarmStack} to mount the expected secret`, async () => {
      const value = await docker("exec", await runningContainer(env), "cat", "/run/secrets/db_password").catch(
        () => "",
      );
      return value === expected ? value : undefined;
    });
  const secretsOf = async (swarmStack: string) =>
    (await docker("secret", "ls", "--filter", `label=com.stackyard.stack=${swarmStack}`, "--format", "{{.Name}}"))
      .split("\n")
      .filter(Boolean)
      .sort();
  const putSecret = async (env: Environment, value: string) => {
    const res = await api.request("PUT", `/v1/environments/${env.id}/secrets/db_password`, {
      body: { value },
      headers: auth(),
    });
    expect(res.status).to.be.oneOf([200, 201]);
  };

  before(async function () {
    this.timeout(180_000);
    await prepareSwarm();
    ({ db, nats, platform, api } = await startTestStack());
    org = await createOrgWithAdmin(api);
    stateDir = await mkdtemp(join(tmpdir(), "stackyard-e2e-iso-agent-"));
    const cluster = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { body: { name: "iso-swarm" }, headers: auth() },
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
    stackId = stack.body.id;
    for (const name of ["dev", "staging"] as const) {
      const env = await api.request<Environment>("POST", `/v1/stacks/${stackId}/environments`, {
        body: { name, clusterId, imageResolution: "never", deployTimeoutSeconds: 60 },
        headers: auth(),
      });
      expect(env.status, JSON.stringify(env.body)).to.equal(201);
      envs[name] = env.body;
    }
    const hand = await api.request<Environment>("POST", `/v1/stacks/${stackId}/environments`, {
      body: {
        name: "hand",
        clusterId,
        imageResolution: "never",
        deployTimeoutSeconds: 60,
        swarmStack: envs.hand.swarmStack,
      },
      headers: auth(),
    });
    expect(hand.status, JSON.stringify(hand.body)).to.equal(201);
    envs.hand = hand.body;

    const release = async (composeYaml: string) => {
      const res = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/releases`, {
        body: { sourceType: "upload", composeYaml: `${composeYaml}secrets:\n  db_password:\n    external: true\n` },
        headers: auth(),
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return res.body.id;
    };
    // Every service mounts db_password (an environment secret mounted everywhere by default).
    releases.v1 = await release(compose({ command: ["sleep", "3600"], replicas: 1 }));
    releases.v2 = await release(compose({ command: ["sleep", "3600"], replicas: 1, env: { FEATURE: "on" } }));
    await putSecret(envs.dev, values.dev);
    await putSecret(envs.staging, values.staging);
    await putSecret(envs.hand, `hand-${randomBytes(8).toString("hex")}`);
  });

  after(async function () {
    this.timeout(180_000);
    await stopAgent(agent);
    for (const env of Object.values(envs)) {
      await removeStack(env.swarmStack).catch((err: unknown) => console.error(String(err)));
    }
    await stopTestStack({ db, nats, platform });
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed" && agent) {
      console.error(`--- agent output (last 80 lines) ---\n${agent.output.slice(-80).join("\n")}`);
    }
  });

  it("1. deploys dev and staging into two Swarm stacks, each labelled as its own and reading its own secret", async () => {
    expect(envs.dev.swarmStack).to.equal(`${stackName}-dev`);
    expect(envs.staging.swarmStack).to.equal(`${stackName}-staging`);
    const devDeployment = await deployOk(envs.dev, releases.v1);
    const devVersion = await versionOf(envs.dev);
    const devSecrets = await secretsOf(envs.dev.swarmStack);
    await deployOk(envs.staging, releases.v1);

    const stacks = (await docker("stack", "ls", "--format", "{{.Name}}")).split("\n");
    expect(stacks).to.include.members([envs.dev.swarmStack, envs.staging.swarmStack]);
    expect(stacks).to.not.include(stackName);
    expect(await versionOf(envs.dev), "staging's deploy did not touch dev's service").to.equal(devVersion);
    expect(await secretsOf(envs.dev.swarmStack), "nor dev's secrets").to.deep.equal(devSecrets);

    await mountedSecret(envs.dev, values.dev);
    await mountedSecret(envs.staging, values.staging);

    // Ownership labels on the service, its network and its secret.
    const dev = await inspect(envs.dev);
    expect(dev.Spec.Labels).to.deep.include({
      "io.stackyard.environment": envs.dev.id,
      "io.stackyard.org": org.orgId,
      "io.stackyard.release": releases.v1,
      "io.stackyard.deployment": devDeployment.id,
    });
    const network = JSON.parse(await docker("network", "inspect", `${envs.dev.swarmStack}_default`)) as Array<{
      Labels: Record<string, string>;
    }>;
    expect(network[0]?.Labels).to.deep.include({
      "io.stackyard.environment": envs.dev.id,
      "io.stackyard.org": org.orgId,
    });
    const secretName = dev.Spec.TaskTemplate.ContainerSpec.Secrets?.[0]?.SecretName ?? "";
    expect(secretName).to.match(new RegExp(`^${envs.dev.swarmStack}_db_password_[0-9a-f]{12}$`));
    const secret = JSON.parse(await docker("secret", "inspect", secretName)) as Array<{
      Spec: { Labels: Record<string, string> };
    }>;
    expect(secret[0]?.Spec.Labels).to.deep.include({
      "io.stackyard.environment": envs.dev.id,
      "io.stackyard.secret": "db_password",
    });
    const staging = await inspect(envs.staging);
    expect(staging.Spec.Labels?.["io.stackyard.environment"]).to.equal(envs.staging.id);
    expect(staging.Spec.TaskTemplate.ContainerSpec.Secrets?.[0]?.SecretName).to.not.equal(secretName);

    // Each environment's status sees its own stack only, in sync.
    for (const env of [envs.dev, envs.staging]) {
      const status = await api.get<{ stackName: string; inSync: boolean; services: Array<{ swarmName: string }> }>(
        `/v1/environments/${env.id}/status`,
        auth(),
      );
      expect(status.body).to.deep.include({ stackName: env.swarmStack, inSync: true });
      expect(status.body.services.map((s) => s.swarmName)).to.deep.equal([`${env.swarmStack}_app`]);
    }
  });

  it("2. scales staging without touching dev", async () => {
    const devVersion = await versionOf(envs.dev);
    const res = await api.request<{ swarmService: string; replicas: number }>(
      "POST",
      `/v1/environments/${envs.staging.id}/services/app/scale`,
      { body: { replicas: 2 }, headers: auth() },
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body).to.deep.include({ swarmService: `${envs.staging.swarmStack}_app`, replicas: 2 });
    expect((await inspect(envs.staging)).Spec.Mode.Replicated?.Replicas).to.equal(2);
    expect((await inspect(envs.dev)).Spec.Mode.Replicated?.Replicas).to.equal(1);
    expect(await versionOf(envs.dev)).to.equal(devVersion);
  });

  it("3. deploys release 2 to dev and rolls it back, while staging stays as it was", async () => {
    const stagingVersion = await versionOf(envs.staging);
    const stagingSecrets = await secretsOf(envs.staging.swarmStack);
    await deployOk(envs.dev, releases.v2);
    expect((await inspect(envs.dev)).Spec.TaskTemplate.ContainerSpec.Env).to.include("FEATURE=on");

    const rollback = await api.request<Deployment>("POST", `/v1/environments/${envs.dev.id}/rollback`, {
      body: {},
      headers: auth(),
    });
    expect(rollback.status, JSON.stringify(rollback.body)).to.equal(202);
    expect(rollback.body.releaseId).to.equal(releases.v1);
    await waitFor(rollback.body.id, "SUCCEEDED");
    expect((await inspect(envs.dev)).Spec.TaskTemplate.ContainerSpec.Env ?? []).to.not.include("FEATURE=on");

    const staging = await inspect(envs.staging);
    expect(staging.Version.Index, "staging's service was not updated").to.equal(stagingVersion);
    expect(staging.Spec.TaskTemplate.ContainerSpec.Env ?? []).to.not.include("FEATURE=on");
    expect(await secretsOf(envs.staging.swarmStack)).to.deep.equal(stagingSecrets);
    await mountedSecret(envs.staging, values.staging);
  });

  it("4. a secret deleted and created again with a new value: the new value is mounted, under a new name", async () => {
    const before = (await inspect(envs.dev)).Spec.TaskTemplate.ContainerSpec.Secrets?.[0]?.SecretName;
    const del = await api.request("DELETE", `/v1/environments/${envs.dev.id}/secrets/db_password`, {
      headers: auth(),
    });
    expect(del.status).to.equal(200);
    await putSecret(envs.dev, values.recreated);
    const listed = await api.get<{ items: Array<{ name: string; version: number }> }>(
      `/v1/environments/${envs.dev.id}/secrets`,
      auth(),
    );
    expect(listed.body.items.map((i) => [i.name, i.version])).to.deep.equal([["db_password", 1]]);
    await deployOk(envs.dev, releases.v1);
    const after = (await inspect(envs.dev)).Spec.TaskTemplate.ContainerSpec.Secrets?.[0]?.SecretName;
    expect(after).to.match(new RegExp(`^${envs.dev.swarmStack}_db_password_[0-9a-f]{12}$`));
    expect(after, "version 1 again, but never the old name").to.not.equal(before);
    await mountedSecret(envs.dev, values.recreated);
    // Staging's secret is another Swarm secret, untouched.
    await mountedSecret(envs.staging, values.staging);
  });

  it("5. refuses to deploy onto a hand-made Swarm stack of the same name (409, then FAILED from the agent), then adopts it when asked", async function () {
    this.timeout(180_000);
    const composeFile = join(stateDir, "hand.yml");
    await writeFile(
      composeFile,
      `services:\n  app:\n    image: ${TEST_IMAGE}\n    command: ["sleep", "3600"]\n    stop_grace_period: 1s\n`,
    );
    await docker("stack", "deploy", "--resolve-image", "never", "-c", composeFile, envs.hand.swarmStack);
    const handVersion = await versionOf(envs.hand);

    // The control plane sees it in the agent's inventory and refuses before queueing anything.
    await until("the inventory to show the hand-made stack", async () => {
      const row = (await db("clusters").where({ id: clusterId }).first("inventory_json")) as
        { inventory_json: { services?: Array<{ stack: string | null }> } | null } | undefined;
      return row?.inventory_json?.services?.some((s) => s.stack === envs.hand.swarmStack) ? true : undefined;
    });
    const refused = await deploy(envs.hand, releases.v1);
    expect(refused.status, JSON.stringify(refused.body)).to.equal(409);
    expect(refused.body.error?.code).to.equal("SWARM_STACK_NOT_OWNED");
    expect(await db("deployments").where({ environment_id: envs.hand.id })).to.have.length(0);

    // With an inventory that has not caught up, the agent refuses on its own: FAILED, with the code.
    const inventory = (await db("clusters").where({ id: clusterId }).first("inventory_json")) as {
      inventory_json: { services: Array<{ stack: string | null }> };
    };
    await db("clusters")
      .where({ id: clusterId })
      .update({
        inventory_json: JSON.stringify({
          ...inventory.inventory_json,
          services: inventory.inventory_json.services.filter((s) => s.stack !== envs.hand.swarmStack),
        }),
      });
    const blind = await deploy(envs.hand, releases.v1);
    expect(blind.status, JSON.stringify(blind.body)).to.equal(202);
    const failed = await waitFor(blind.body.id, "FAILED");
    expect(failed.errorCode).to.equal("SWARM_STACK_NOT_OWNED");
    expect(failed.errorMessage).to.match(/not this environment's/);
    expect(await versionOf(envs.hand), "the hand-made service was not touched").to.equal(handVersion);

    // Adopted when asked: audited, deployed, and labelled as the environment's from now on.
    const adopted = await deploy(envs.hand, releases.v1, { adopt: true });
    expect(adopted.status, JSON.stringify(adopted.body)).to.equal(202);
    expect(adopted.body.adopt).to.equal(true);
    await waitFor(adopted.body.id, "SUCCEEDED");
    expect((await inspect(envs.hand)).Spec.Labels?.["io.stackyard.environment"]).to.equal(envs.hand.id);
    const audit = await api.get<{ items: Array<{ action: string; targetId: string }> }>(
      `/v1/orgs/${org.orgId}/audit?action=environment.adopt_swarm_stack`,
      auth(),
    );
    expect(audit.body.items.map((a) => a.targetId)).to.include(envs.hand.id);

    // Now the environment's own: the next deploy needs no adoption.
    await deployOk(envs.hand, releases.v2);
  });
});

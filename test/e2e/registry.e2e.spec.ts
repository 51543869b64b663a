/**
 * Private images end to end: a real registry (Debian's docker-registry with htpasswd basic auth on a loopback
 * port) holds an image that is not on this node; the real control plane, the real agent and the real Swarm deploy
 * it. Without the environment's registry credential the deployment fails in the agent's pre-flight with the
 * registry's 401 and nothing on the swarm changes; with it the deployment succeeds, and afterwards the agent's
 * docker config holds no credential and its temporary DOCKER_CONFIG is gone. The password is in no API response,
 * no event, no audit row, no agent log line and no NATS or JetStream message.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, credsAuthenticator, type NatsConnection } from "nats";
import type { Db } from "../../services/_shared/db.js";
import { createOrgWithAdmin, createUserWithRole, type TestOrg } from "../../services/_shared/testing/fixtures.js";
import type { ContractClient } from "../../services/_shared/testing/http.js";
import type { TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import type { TestPlatform } from "../../services/_shared/testing/platform.js";
import { startTestRegistry, type TestRegistry } from "../../services/_shared/testing/registry.js";
import { startTestStack, stopTestStack } from "../../services/_shared/testing/stack.js";
import {
  TEST_IMAGE,
  docker,
  prepareSwarm,
  removeStack,
  spawnAgent,
  stopAgent,
  type AgentProcess,
} from "../../services/_shared/testing/swarm.js";
import { until } from "../../services/_shared/testing/wait.js";

const USERNAME = "deployer";
const PASSWORD = `registry-canary-${randomBytes(16).toString("hex")}`;
const FORMS = [
  PASSWORD,
  Buffer.from(PASSWORD).toString("base64").replace(/=+$/, ""),
  Buffer.from(`${USERNAME}:${PASSWORD}`).toString("base64").replace(/=+$/, ""),
  Buffer.from(PASSWORD).toString("hex"),
];
const hits = (text: string | Buffer) => {
  const s = typeof text === "string" ? text : text.toString("latin1");
  return FORMS.filter((f) => s.includes(f));
};

interface Deployment {
  id: string;
  status: string;
  errorMessage: string | null;
  errorCode: string | null;
}

describe("private images: registry credentials, pre-flight and --with-registry-auth on a real registry", function () {
  this.timeout(240_000);
  const stackName = `priv${randomBytes(4).toString("hex")}`;
  const swarmStack = `${stackName}-prod`;
  const swarmService = `${swarmStack}_app`;
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let registry: TestRegistry;
  let agent: AgentProcess | null = null;
  let tap: NatsConnection | null = null;
  let work: string;
  let agentHome: string;
  let agentTmp: string;
  const captured: Buffer[] = [];
  const responses: string[] = [];
  let envId: string;
  let stackId: string;
  let credentialId: string;
  const images: { v1: string; v2: string } = { v1: "", v2: "" };

  const auth = () => org.admin.auth;
  const call = async <T>(method: string, path: string, body?: unknown) => {
    const res = await api.request<T>(method, path, { ...(body !== undefined ? { body } : {}), headers: auth() });
    responses.push(JSON.stringify(res.body));
    return res;
  };
  const release = async (image: string) => {
    const composeYaml = `services:\n  app:\n    image: ${image}\n    command: ["sleep", "3600"]\n    stop_grace_period: 1s\n`;
    const res = await call<{ id: string }>("POST", `/v1/stacks/${stackId}/releases`, {
      sourceType: "upload",
      composeYaml,
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.id;
  };
  const deploy = async (releaseId: string): Promise<Deployment> => {
    const res = await api.request<Deployment>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId },
      headers: { ...auth(), "idempotency-key": randomBytes(8).toString("hex") },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return until(
      `deployment ${res.body.id} to end`,
      async () => {
        const d = await call<Deployment>("GET", `/v1/deployments/${res.body.id}`);
        return d.body.status === "PENDING" || d.body.status === "RUNNING" ? undefined : d.body;
      },
      120_000,
      300,
    );
  };
  const events = async (deploymentId: string) =>
    (await db("deployment_events").where({ deployment_id: deploymentId }).orderBy("seq")) as Array<{
      message: string;
      data_json: Record<string, unknown>;
    }>;
  const stackServices = () =>
    docker("service", "ls", "--filter", `label=com.docker.stack.namespace=${swarmStack}`, "--format", "{{.Name}}");

  before(async function () {
    this.timeout(400_000);
    await prepareSwarm();
    registry = await startTestRegistry(USERNAME, PASSWORD);
    const tag = randomBytes(4).toString("hex");
    images.v1 = await registry.push(TEST_IMAGE, `stackyard/private:${tag}-v1`);
    images.v2 = await registry.push(TEST_IMAGE, `stackyard/private:${tag}-v2`);

    ({ db, nats, platform, api } = await startTestStack());
    tap = await connect({
      servers: nats.url,
      tls: nats.tls,
      authenticator: credsAuthenticator(await readFile(nats.controlPlaneCredsFile)),
    });
    tap.subscribe(">", { callback: (_e, msg) => captured.push(Buffer.from(msg.data)) });
    await tap.flush();

    org = await createOrgWithAdmin(api);
    work = await mkdtemp(join(tmpdir(), "stackyard-registry-e2e-"));
    agentHome = join(work, "home");
    agentTmp = join(work, "tmp");
    await mkdir(agentHome);
    await mkdir(agentTmp);
    const cluster = await call<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { name: "private-swarm" },
    );
    const stateDir = join(work, "state");
    const register = spawnAgent(["register", "--url", platform.baseUrl, "--state-dir", stateDir], {
      STACKYARD_AGENT_TOKEN: cluster.body.registrationToken,
    });
    expect(await register.exited, register.output.join("\n")).to.equal(0);
    agent = spawnAgent(["run", "--state-dir", stateDir], {
      HOME: agentHome,
      TMPDIR: agentTmp,
      STACKYARD_AGENT_HEARTBEAT_INTERVAL_MS: "1000",
      STACKYARD_AGENT_LOG_LEVEL: "debug",
    });
    await until(
      "the cluster to turn online",
      async () => {
        const res = await api.get<{ status: string }>(
          `/v1/orgs/${org.orgId}/clusters/${cluster.body.cluster.id}`,
          auth(),
        );
        return res.body.status === "online" ? true : undefined;
      },
      30_000,
    );
    const stack = await call<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, { name: stackName });
    stackId = stack.body.id;
    const env = await call<{ id: string }>("POST", `/v1/stacks/${stackId}/environments`, {
      name: "prod",
      clusterId: cluster.body.cluster.id,
      deployTimeoutSeconds: 60,
    });
    envId = env.body.id;
  });

  after(async function () {
    this.timeout(120_000);
    await tap?.close().catch(() => undefined);
    await stopAgent(agent);
    await removeStack(swarmStack).catch((err: unknown) => console.error(String(err)));
    await stopTestStack({ db, nats, platform });
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed" && agent) {
      console.error(`--- agent output (last 60 lines) ---\n${agent.output.slice(-60).join("\n")}`);
    }
  });

  it("stores a credential write-only (201, no password in any answer), audited; a VIEWER may not create one", async () => {
    const created = await call<{ id: string; registry: string; username: string; version: number }>(
      "POST",
      `/v1/orgs/${org.orgId}/registry-credentials`,
      { name: "private", registry: registry.host, username: USERNAME, password: PASSWORD },
    );
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    expect(created.body).to.deep.include({ registry: registry.host, username: USERNAME, version: 1 });
    credentialId = created.body.id;
    const list = await call<{ items: Array<{ id: string }> }>("GET", `/v1/orgs/${org.orgId}/registry-credentials`);
    expect(list.body.items.map((i) => i.id)).to.deep.equal([credentialId]);
    const duplicate = await call<{ error: { code: string } }>("POST", `/v1/orgs/${org.orgId}/registry-credentials`, {
      name: "private",
      registry: registry.host,
      username: USERNAME,
      password: "x",
    });
    expect(duplicate.status).to.equal(409);
    expect(duplicate.body.error.code).to.equal("REGISTRY_CREDENTIAL_EXISTS");
    const viewer = await createUserWithRole(api, org, "VIEWER");
    const refused = await api.request<{ error: { code: string } }>(
      "POST",
      `/v1/orgs/${org.orgId}/registry-credentials`,
      { body: { name: "v", registry: registry.host, username: "u", password: "p" }, headers: viewer.auth },
    );
    expect(refused.status).to.equal(403);
    const row = await db("registry_credentials").where({ id: credentialId }).first();
    expect(hits(JSON.stringify(row)), "stored encrypted").to.deep.equal([]);
    const audit = await db("audit_events").where({ org_id: org.orgId, action: "registry_credential.create" });
    expect(audit).to.have.length(1);
  });

  it("without the credential: FAILED in pre-flight with the registry's 401, and no service was created", async () => {
    const releaseId = await release(images.v1);
    const failed = await deploy(releaseId);
    expect(failed.status).to.equal("FAILED");
    expect(failed.errorCode).to.equal("IMAGE_PREFLIGHT_FAILED");
    expect(failed.errorMessage).to.include(images.v1);
    const preflight = (await events(failed.id)).find((e) => e.message.startsWith(`pre-flight: ${images.v1} cannot`));
    expect(preflight, "a pre-flight event names the image").to.not.equal(undefined);
    expect(preflight!.message).to.match(/401|UNAUTHORIZED/);
    expect(preflight!.data_json).to.deep.include({ image: images.v1, status: 401 });
    expect(await stackServices(), "nothing deployed").to.equal("");
  });

  it("with the credential attached: SUCCEEDED, the node pulled the private image, and no credential is left behind", async () => {
    const attached = await call("PUT", `/v1/environments/${envId}/registry-credentials/${credentialId}`);
    expect(attached.status, JSON.stringify(attached.body)).to.equal(200);
    const listed = await call<{ items: Array<{ id: string }> }>(
      "GET",
      `/v1/environments/${envId}/registry-credentials`,
    );
    expect(listed.body.items.map((i) => i.id)).to.deep.equal([credentialId]);

    const releaseId = await release(images.v1);
    const done = await deploy(releaseId);
    expect(done.status, String(done.errorMessage)).to.equal("SUCCEEDED");
    const messages = (await events(done.id)).map((e) => e.message);
    expect(messages).to.include(`pre-flight: ${images.v1} resolves on ${registry.host} (as ${USERNAME})`);
    const image = await docker(
      "service",
      "inspect",
      swarmService,
      "--format",
      "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
    );
    // The environment resolves images (`always`, the default): Swarm pinned the tag's digest, and the node
    // pulled the image by it (so it is stored under its digest, not the tag).
    expect(image).to.match(new RegExp(`^${images.v1.replace(/[.:/]/g, "\\$&")}@sha256:[0-9a-f]{64}$`));
    expect(await docker("image", "inspect", "--format", "{{.Id}}", image)).to.match(/^sha256:/);
    // The deployment records the registry digest as its pin.
    const { images: pins } = done as unknown as { images: Array<{ service: string; pinned: string; kind: string }> };
    expect(pins.map((p) => [p.kind, p.pinned])).to.deep.equal([["digest", image.replace(/:[^:/@]+@/, "@")]]);

    const dockerDir = join(agentHome, ".docker");
    const config = await readFile(join(dockerDir, "config.json"), "utf8").catch(() => "");
    expect(config, "the agent user's docker config").to.not.include(registry.host);
    expect(hits(config)).to.deep.equal([]);
    const leftovers = (await readdir(agentTmp)).filter((n) => n.startsWith("stackyard-docker-config-"));
    expect(leftovers, "the temporary DOCKER_CONFIG is removed").to.deep.equal([]);
  });

  it("detached again, a new private tag fails pre-flight and the running service is left exactly as it was", async () => {
    const before = await docker(
      "service",
      "inspect",
      swarmService,
      "--format",
      "{{.Version.Index}} {{.Spec.TaskTemplate.ContainerSpec.Image}}",
    );
    const detached = await call("DELETE", `/v1/environments/${envId}/registry-credentials/${credentialId}`);
    expect(detached.status).to.equal(200);
    const failed = await deploy(await release(images.v2));
    expect(failed.status).to.equal("FAILED");
    expect(failed.errorCode).to.equal("IMAGE_PREFLIGHT_FAILED");
    expect(failed.errorMessage).to.include(images.v2);
    const after = await docker(
      "service",
      "inspect",
      swarmService,
      "--format",
      "{{.Version.Index}} {{.Spec.TaskTemplate.ContainerSpec.Image}}",
    );
    expect(after, "no service changed").to.equal(before);
  });

  it("the password is in no API response, event, audit row, agent log line, NATS message or JetStream message", async () => {
    await tap!.flush();
    expect(captured.length).to.be.greaterThan(20);
    expect(captured.filter((m) => hits(m).length > 0).length, "captured NATS messages with the password").to.equal(0);
    const jsm = await tap!.jetstreamManager();
    for (const info of await jsm.streams.list().next()) {
      const { first_seq: first, last_seq: last } = (await jsm.streams.info(info.config.name)).state;
      for (let seq = first; seq > 0 && seq <= last; seq++) {
        const m = await jsm.streams.getMessage(info.config.name, { seq }).catch(() => null);
        if (m) expect(hits(Buffer.from(m.data)), `${info.config.name} #${seq}`).to.deep.equal([]);
      }
    }
    expect(hits(responses.join("\n")), "API responses").to.deep.equal([]);
    expect(hits(JSON.stringify(await db("deployment_events").where({ org_id: org.orgId }))), "events").to.deep.equal(
      [],
    );
    expect(hits(JSON.stringify(await db("audit_events").where({ org_id: org.orgId }))), "audit").to.deep.equal([]);
    expect(hits(agent!.output.join("\n")), "agent log").to.deep.equal([]);
  });
});

/**
 * Secrets sealed to the agent, proven on the wire: the real control plane, the real agent (registered with a
 * one-time token, so it made its own X25519 seal key) and the real single-node Swarm deploy a stack whose
 * environment secret is a planted canary. A control-plane connection subscribed to `>` captures every message of
 * the application account during the whole deploy (commands, replies, JetStream API, deployment events, work-queue
 * jobs, Moleculer traffic), and afterwards every message still stored in every JetStream stream is read back.
 * The canary is in none of them, in any common encoding, yet the container reads it from /run/secrets and the
 * captured DeployStack opens to it with the private key from the agent's state file.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, credsAuthenticator, type NatsConnection } from "nats";
import type { Db } from "../../services/_shared/db.js";
import { createOrgWithAdmin, type TestOrg } from "../../services/_shared/testing/fixtures.js";
import { ContractClient } from "../../services/_shared/testing/http.js";
import type { TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import type { TestPlatform } from "../../services/_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../../services/_shared/testing/stack.js";
import {
  docker,
  prepareSwarm,
  removeStack,
  spawnAgent,
  stopAgent,
  testStackCompose,
  type AgentProcess,
} from "../../services/_shared/testing/swarm.js";
import { until } from "../../services/_shared/testing/wait.js";
import type { CommandEnvelope, DeployStack } from "../../nats/protocol/messages.js";
import { open, sealKeyId } from "../../nats/protocol/sealing.js";

const CANARY = `canary-${randomBytes(16).toString("hex")}`;
/** The canary as it could appear on the wire: raw, base64, base64url, hex. */
const CANARY_FORMS = [
  CANARY,
  Buffer.from(CANARY).toString("base64").replace(/=+$/, ""),
  Buffer.from(CANARY).toString("base64url"),
  Buffer.from(CANARY).toString("hex"),
];

function hits(haystack: Buffer | string): string[] {
  const text = typeof haystack === "string" ? haystack : haystack.toString("latin1");
  return CANARY_FORMS.filter((form) => text.includes(form));
}

interface Captured {
  subject: string;
  data: Buffer;
  headers: string;
}

describe("secrets sealed to the agent: no plaintext on NATS or in JetStream during a real deploy", function () {
  this.timeout(180_000);
  const stackName = `seal${randomBytes(4).toString("hex")}`;
  const swarmStack = `${stackName}-prod`;
  const swarmService = `${swarmStack}_app`;
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let stateDir: string;
  let agent: AgentProcess | null = null;
  let tap: NatsConnection | null = null;
  const captured: Captured[] = [];
  let clusterId: string;
  let deploymentId: string;

  before(async function () {
    this.timeout(240_000);
    await prepareSwarm();
    ({ db, nats, platform, api } = await startTestStack());
    // Subscribed before anything happens: registration, connection, the deploy, its events, everything.
    tap = await connect({
      servers: nats.url,
      tls: nats.tls,
      authenticator: credsAuthenticator(await readFile(nats.controlPlaneCredsFile)),
      name: "sealing-e2e-tap",
    });
    tap.subscribe(">", {
      callback: (_err, msg) => {
        captured.push({
          subject: msg.subject,
          data: Buffer.from(msg.data),
          headers: msg.headers ? [...msg.headers].map(([k, v]) => `${k}: ${v.join(",")}`).join("\n") : "",
        });
      },
    });
    await tap.flush();

    org = await createOrgWithAdmin(api);
    stateDir = await mkdtemp(join(tmpdir(), "stackyard-seal-agent-"));
    const cluster = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { body: { name: "seal-swarm" }, headers: org.admin.auth },
    );
    expect(cluster.status).to.equal(201);
    clusterId = cluster.body.cluster.id;
    const register = spawnAgent(["register", "--url", platform.baseUrl, "--state-dir", stateDir], {
      STACKYARD_AGENT_TOKEN: cluster.body.registrationToken,
    });
    expect(await register.exited, register.output.join("\n")).to.equal(0);
    agent = spawnAgent(["run", "--state-dir", stateDir], {
      STACKYARD_AGENT_HEARTBEAT_INTERVAL_MS: "1000",
      STACKYARD_AGENT_LOG_LEVEL: "debug",
    });
    await until(
      "the cluster to turn online",
      async () => {
        const res = await api.get<{ status: string }>(`/v1/orgs/${org.orgId}/clusters/${clusterId}`, org.admin.auth);
        return res.body.status === "online" ? true : undefined;
      },
      30_000,
    );
  });

  after(async function () {
    this.timeout(120_000);
    await tap?.close().catch(() => undefined);
    await stopAgent(agent);
    await removeStack(swarmStack).catch((err: unknown) => console.error(String(err)));
    await stopTestStack({ db, nats, platform });
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed" && agent) {
      console.error(`--- agent output (last 60 lines) ---\n${agent.output.slice(-60).join("\n")}`);
    }
  });

  it("deploys the canary secret through the real agent: SUCCEEDED, and the container reads the value", async () => {
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: stackName },
      headers: org.admin.auth,
    });
    expect(stack.status).to.equal(201);
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      body: { name: "prod", clusterId, imageResolution: "never", deployTimeoutSeconds: 60 },
      headers: org.admin.auth,
    });
    expect(env.status).to.equal(201);
    const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
      body: { sourceType: "upload", composeYaml: testStackCompose({ command: ["sleep", "3600"], replicas: 1 }) },
      headers: org.admin.auth,
    });
    expect(release.status).to.equal(201);
    const secret = await api.request("PUT", `/v1/environments/${env.body.id}/secrets/db_password`, {
      body: { value: CANARY },
      headers: org.admin.auth,
    });
    expect(secret.status).to.equal(201);
    expect(hits(JSON.stringify(secret.body))).to.deep.equal([]);

    const created = await api.request<{ id: string }>("POST", `/v1/environments/${env.body.id}/deployments`, {
      body: { releaseId: release.body.id },
      headers: { ...org.admin.auth, "idempotency-key": randomBytes(8).toString("hex") },
    });
    expect(created.status).to.equal(202);
    deploymentId = created.body.id;
    const final = await until(
      "the deployment to end",
      async () => {
        const res = await api.get<{ status: string; errorMessage: string | null }>(
          `/v1/deployments/${deploymentId}`,
          org.admin.auth,
        );
        return res.body.status === "PENDING" || res.body.status === "RUNNING" ? undefined : res.body;
      },
      90_000,
    );
    expect(final.status, String(final.errorMessage)).to.equal("SUCCEEDED");
    const container = (
      await docker("ps", "-q", "--filter", `label=com.docker.swarm.service.name=${swarmService}`)
    ).split("\n")[0]!;
    expect(await docker("exec", container, "cat", "/run/secrets/db_password")).to.equal(CANARY);
  });

  it("captured the DeployStack on `>`: its secret is sealed to the agent's key and opens only with it", async () => {
    await tap!.flush();
    const commands = captured.filter((m) => m.subject === `cmd.${clusterId}.DeployStack`);
    expect(commands, "the tap saw the command").to.have.length(1);
    const envelope = JSON.parse(commands[0]!.data.toString("utf8")) as CommandEnvelope;
    const payload = envelope.payload as unknown as DeployStack;
    expect(payload.deploymentId).to.equal(deploymentId);
    expect(payload.secrets).to.have.length(1);
    const [sealedSecret] = payload.secrets;
    expect(sealedSecret).to.not.have.property("value");

    const stateFile = join(stateDir, "state.json");
    expect((await stat(stateFile)).mode & 0o777, "the private key's file is 0600").to.equal(0o600);
    const state = JSON.parse(await readFile(stateFile, "utf8")) as { sealPublicKey: string; sealPrivateKey: string };
    expect(sealedSecret!.sealed.kid).to.equal(sealKeyId(state.sealPublicKey));
    const opened = open(
      sealedSecret!.sealed,
      { publicKey: state.sealPublicKey, privateKey: state.sealPrivateKey },
      {
        clusterId,
        deploymentId,
        kind: "secret",
        name: sealedSecret!.name,
      },
    );
    expect(opened.toString("utf8")).to.equal(CANARY);
    // What the control plane stored for this agent is the public half only.
    const rows = await db("agent_credentials").where({ cluster_id: clusterId }).select("seal_public_key");
    expect(rows.map((r: { seal_public_key: string }) => r.seal_public_key)).to.include(state.sealPublicKey);
    expect(JSON.stringify(await db("agent_credentials").where({ cluster_id: clusterId }))).to.not.include(
      state.sealPrivateKey,
    );
  });

  it("finds the canary in none of the captured messages, none of the stored JetStream messages, events or logs", async () => {
    await tap!.flush();
    const subjects = new Set(captured.map((m) => m.subject.split(".").slice(0, 2).join(".")));
    expect(captured.length, "the tap captured traffic").to.be.greaterThan(20);
    expect(
      [...subjects].some((s) => s.startsWith("agent-events.")),
      "deployment events",
    ).to.equal(true);
    expect(
      [...subjects].some((s) => s.startsWith("deploy.jobs")),
      "work-queue jobs",
    ).to.equal(true);
    const leaking = captured.filter((m) => hits(m.data).length > 0 || hits(m.headers).length > 0);
    expect(
      leaking.map((m) => m.subject),
      "captured messages carrying the canary",
    ).to.deep.equal([]);

    const jsm = await tap!.jetstreamManager();
    const streams = await jsm.streams.list().next();
    expect(streams.map((s) => s.config.name)).to.include("STACKYARD_AGENT_EVENTS");
    let stored = 0;
    for (const info of streams) {
      const { first_seq: first, last_seq: last } = (await jsm.streams.info(info.config.name)).state;
      for (let seq = first; seq > 0 && seq <= last; seq++) {
        const message = await jsm.streams.getMessage(info.config.name, { seq }).catch(() => null);
        if (!message) continue; // deleted (an acknowledged work-queue job)
        stored++;
        expect(hits(Buffer.from(message.data)), `${info.config.name} #${seq} (${message.subject})`).to.deep.equal([]);
      }
    }
    expect(stored, "stored JetStream messages were read").to.be.greaterThan(0);

    expect(hits(JSON.stringify(await db("deployment_events").where({ deployment_id: deploymentId })))).to.deep.equal(
      [],
    );
    expect(hits(JSON.stringify(await db("audit_events").where({ org_id: org.orgId })))).to.deep.equal([]);
    expect(hits(agent!.output.join("\n")), "the agent's own log at debug").to.deep.equal([]);
  });
});

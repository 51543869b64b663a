/**
 * Deployments at service level: real gateway, Postgres, NATS/JetStream and the real worker and event writer;
 * the agent is a scripted stand-in (the real one is exercised by test/e2e).
 */
import { TenantScope } from "../_shared/tenant.js";
import { expect } from "chai";
import type { Db } from "../_shared/db.js";
import { startFakeAgent, type FakeAgent } from "../_shared/testing/fake-agent.js";
import { createOrgWithAdmin, createUserWithRole, uniqueName, type TestOrg } from "../_shared/testing/fixtures.js";
import { ContractClient } from "../_shared/testing/http.js";
import { type TestNatsServer } from "../_shared/testing/nats-server.js";
import { type TestPlatform } from "../_shared/testing/platform.js";
import { putSecret } from "../stacks/index.js";
import { parseMasterKeys } from "../_shared/master-keys.js";
import { TEST_MASTER_KEY } from "../_shared/testing/platform.js";
import type { CommandEnvelope, DeployStack, RollbackStack } from "../../nats/protocol/messages.js";
import { open } from "../../nats/protocol/sealing.js";
import { sleep, until } from "../_shared/testing/wait.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";
import { promotionAndApprovals } from "./promotion.suite.js";
import { failStaleDeployments } from "./worker.js";

interface Deployment {
  id: string;
  status: string;
  releaseId: string;
  kind: string;
  errorMessage: string | null;
  errorCode: string | null;
  adopt: boolean;
  startedAt: string | null;
}
interface SseEvent {
  id: string | null;
  event: string;
  data: { seq?: number; message?: string; status?: string };
}

async function readSse(url: string, headers: Record<string, string>): Promise<SseEvent[]> {
  const res = await fetch(url, { headers });
  expect(res.status).to.equal(200);
  expect(res.headers.get("content-type")).to.match(/^text\/event-stream/);
  const text = await res.text(); // the server closes after the terminal event
  return text
    .split("\n\n")
    .filter((block) => block.split("\n").some((l) => l.startsWith("data: ")))
    .map((block) => {
      const lines = block.split("\n");
      const field = (name: string) => lines.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2) ?? null;
      return { id: field("id"), event: field("event") ?? "message", data: JSON.parse(field("data") ?? "{}") };
    });
}

describe("deployments (real gateway, Postgres, JetStream; scripted agent)", function () {
  this.timeout(90_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;
  let agent: FakeAgent;
  let envId: string;
  let stackId: string;
  let release1: string;
  let release2: string;
  /** What the scripted agent does with each DeployStack. */
  let onDeploy: (payload: DeployStack, command: CommandEnvelope) => Promise<void> | void;

  const deploy = (releaseId: string, key?: string) =>
    api.request<Deployment & { error?: { code: string } }>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId },
      headers: { ...org.admin.auth, ...(key ? { "idempotency-key": key } : {}) },
    });
  const get = async (id: string) => (await api.get<Deployment>(`/v1/deployments/${id}`, org.admin.auth)).body;
  const waitStatus = (id: string, status: string) =>
    until(`deployment ${id} ${status}`, async () => ((await get(id)).status === status ? true : undefined));

  /** A well-behaved agent: output lines, then success. */
  const succeed = async (p: DeployStack) => {
    await agent.emit(p.deploymentId, p.firstSeq, "Creating network web_default");
    await agent.emit(p.deploymentId, p.firstSeq + 1, "Creating service web_app", { level: "info" });
    await agent.emit(p.deploymentId, p.firstSeq + 2, "all services converged", { outcome: "succeeded" });
  };

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack({
      DEPLOY_AGENT_WAIT_SECONDS: "3",
      DEPLOY_DISPATCH_TIMEOUT_MS: "1500",
    }));
    org = await createOrgWithAdmin(api);
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "fake");
    const start = (command: CommandEnvelope) => {
      const payload = command.payload as unknown as DeployStack;
      setTimeout(() => void onDeploy(payload, command), 50);
      return { deploymentId: payload.deploymentId, status: "started" };
    };
    agent.handlers.set("DeployStack", start);
    agent.handlers.set("RollbackStack", start);
    onDeploy = succeed;
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("web").replace(/[^a-z0-9-]/g, "") },
      headers: org.admin.auth,
    });
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      body: { name: "prod", clusterId: agent.clusterId },
      headers: org.admin.auth,
    });
    envId = env.body.id;
    stackId = stack.body.id;
    const compose = (tag: string) =>
      `services:\n  app:\n    image: nginx:${tag}\n    deploy:\n      replicas: 2\n    secrets: [db_password]\nsecrets:\n  db_password:\n    external: true\n`;
    const mk = async (tag: string) =>
      (
        await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
          body: { sourceType: "upload", composeYaml: compose(tag) },
          headers: org.admin.auth,
        })
      ).body.id;
    release1 = await mk("1.25");
    release2 = await mk("1.27");
    await putSecret(
      new TenantScope(db, org.orgId),
      {
        environmentId: envId,
        name: "db_password",
        value: Buffer.from("hunter2-super-secret"),
        services: [],
        actor: org.admin.userId,
      },
      parseMasterKeys(TEST_MASTER_KEY),
    );
  });
  after(async () => {
    await agent?.close();
    await stopTestStack({ db, nats, platform });
  });

  it("accepts a deploy at once (202 PENDING), runs it through the agent and ends SUCCEEDED", async () => {
    const res = await deploy(release1, "key-1");
    expect(res.status).to.equal(202);
    expect(res.body.status).to.equal("PENDING");
    await waitStatus(res.body.id, "SUCCEEDED");
    const command = agent.received.find(
      (c) => c.type === "DeployStack" && (c.payload as { deploymentId: string }).deploymentId === res.body.id,
    )!;
    const payload = command.payload as unknown as DeployStack;
    expect(command.orgId).to.equal(org.orgId);
    expect(payload.composeYaml).to.include("nginx:1.25");
    expect(payload.secrets).to.have.length(1);
    expect(payload.secrets[0]!.name).to.match(/^[a-z0-9-]+-prod_db_password_[0-9a-f]{12}$/);
    expect(payload.secrets[0]!.secret).to.equal("db_password");
    // Sealed to this agent's key for this deployment and name; the command never holds the value itself.
    expect(JSON.stringify(command)).to.not.include("hunter2-super-secret");
    expect(payload.secrets[0]).to.not.have.property("value");
    const opened = open(payload.secrets[0]!.sealed, agent.sealKeys!, {
      clusterId: agent.clusterId,
      deploymentId: res.body.id,
      kind: "secret",
      name: payload.secrets[0]!.name,
    });
    expect(opened.toString("utf8")).to.equal("hunter2-super-secret");
    // The environment's own Swarm stack, labels that say whose it is, and no adoption unless asked.
    expect(payload.stackName).to.match(/-prod$/);
    expect(payload.labels).to.deep.equal({
      "io.stackyard.environment": envId,
      "io.stackyard.org": org.orgId,
      "io.stackyard.release": release1,
      "io.stackyard.deployment": res.body.id,
    });
    expect(payload.adopt).to.equal(false);
    expect(payload.keepSecretVersions).to.equal(3);
    expect(payload.composeYaml).to.include(`io.stackyard.deployment: "${res.body.id}"`);
    const rows = await db("deployment_events").where({ deployment_id: res.body.id }).orderBy("seq");
    expect(rows.map((r) => Number(r.seq))).to.deep.equal(rows.map((_r, i) => i));
    const finished = await get(res.body.id);
    expect(finished.status).to.equal("SUCCEEDED");
    // The deployed state carries its deployment's id as a label; that alone is no difference to review.
    const diff = await api.get<{ unified: string; services: { changed: unknown[] } }>(
      `/v1/environments/${envId}/diff?to=${release1}`,
      org.admin.auth,
    );
    expect(diff.status).to.equal(200);
    expect(diff.body.services.changed).to.deep.equal([]);
    expect(diff.body.unified.split("\n").filter((l) => /^[-+](?![-+])/.test(l))).to.deep.equal([]);
  });

  it("returns the same deployment for the same Idempotency-Key, and 422 for another body", async () => {
    const first = await deploy(release2, "key-2");
    const again = await deploy(release2, "key-2");
    expect(again.status).to.equal(202);
    expect(again.body.id).to.equal(first.body.id);
    const other = await deploy(release1, "key-2");
    expect(other.status).to.equal(422);
    expect(other.body.error?.code).to.equal("IDEMPOTENCY_KEY_REUSED");
    await waitStatus(first.body.id, "SUCCEEDED");
    expect(
      agent.received.filter((c) => (c.payload as { deploymentId?: string }).deploymentId === first.body.id),
    ).to.have.length(1);
  });

  it("persists each event exactly once even when the agent publishes it twice, and masks secret values", async () => {
    onDeploy = async (p) => {
      await agent.emit(p.deploymentId, p.firstSeq, "password is hunter2-super-secret, do not log");
      await agent.emit(p.deploymentId, p.firstSeq, "password is hunter2-super-secret, do not log"); // redelivery
      await agent.emit(p.deploymentId, p.firstSeq + 1, "done", { outcome: "succeeded" });
      await agent.emit(p.deploymentId, p.firstSeq + 1, "done", { outcome: "succeeded" });
    };
    const res = await deploy(release1);
    await waitStatus(res.body.id, "SUCCEEDED");
    await sleep(200);
    const rows = await db("deployment_events").where({ deployment_id: res.body.id }).orderBy("seq");
    const seqs = rows.map((r) => Number(r.seq));
    expect(new Set(seqs).size).to.equal(seqs.length);
    expect(JSON.stringify(rows)).to.not.include("hunter2-super-secret");
    expect(rows.some((r) => String(r.message).includes("********"))).to.equal(true);
    onDeploy = succeed;
  });

  it("stores batched events once each, in seq order, masked, and ends on a terminal event inside a batch", async () => {
    let firstSeq = -1;
    onDeploy = async (p) => {
      const s = (firstSeq = p.firstSeq);
      await agent.emit(p.deploymentId, s, "Creating network web_default");
      await agent.emitBatch(p.deploymentId, [
        { seq: s, message: "Creating network web_default" }, // already stored alone: kept once
        { seq: s + 1, message: "login with hunter2-super-secret" },
        { seq: s + 2, message: "Creating service web_app" },
      ]);
      await agent.emitBatch(p.deploymentId, [
        { seq: s + 3, message: "Updating service web_db" },
        { seq: s + 4, message: "all services converged", outcome: "succeeded" },
      ]);
    };
    const res = await deploy(release1);
    await waitStatus(res.body.id, "SUCCEEDED");
    const rows = await db("deployment_events").where({ deployment_id: res.body.id }).orderBy("seq");
    const agentRows = rows.filter((r) => Number(r.seq) >= firstSeq); // before: the control plane's own
    expect(agentRows.map((r) => r.message)).to.deep.equal([
      "Creating network web_default",
      "login with ********",
      "Creating service web_app",
      "Updating service web_db",
      "all services converged",
    ]);
    expect(agentRows.at(-1)!.data_json).to.include({ terminal: true, outcome: "succeeded" });
    onDeploy = succeed;
  });

  it("runs one deployment per environment at a time; the next waits its turn", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    onDeploy = async (p) => {
      await agent.emit(p.deploymentId, p.firstSeq, "slow deploy");
      await gate;
      await agent.emit(p.deploymentId, p.firstSeq + 1, "done", { outcome: "succeeded" });
    };
    const a = await deploy(release1);
    await waitStatus(a.body.id, "RUNNING");
    const b = await deploy(release2);
    await sleep(1_500);
    expect((await get(b.body.id)).status).to.equal("PENDING");
    onDeploy = succeed;
    release();
    await waitStatus(a.body.id, "SUCCEEDED");
    await waitStatus(b.body.id, "SUCCEEDED");
  });

  it("streams events over SSE in order, resumes from Last-Event-ID and closes after the end", async () => {
    const res = await deploy(release2);
    const url = `${platform.baseUrl}/v1/deployments/${res.body.id}/events`;
    const live = readSse(url, org.admin.auth); // opened before the deployment finishes
    const events = await live;
    const data = events.filter((e) => e.event === "deployment-event");
    const seqs = data.map((e) => e.data.seq!);
    expect(seqs).to.deep.equal([...seqs].sort((x, y) => x - y));
    expect(seqs[0]).to.equal(0);
    expect(data.map((e) => e.data.message)).to.include("Creating service web_app");
    expect(events[events.length - 1]!.event).to.equal("end");
    const resumed = await readSse(url, { ...org.admin.auth, "last-event-id": String(seqs[1]) });
    expect(resumed.filter((e) => e.event === "deployment-event").map((e) => e.data.seq)).to.deep.equal(seqs.slice(2));
  });

  it("lets a VIEWER read but not deploy, and refuses a token without deployments:write", async () => {
    const viewer = await createUserWithRole(api, org, "VIEWER");
    expect((await api.get(`/v1/environments/${envId}/deployments`, viewer.auth)).status).to.equal(200);
    const denied = await api.request("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId: release1 },
      headers: viewer.auth,
    });
    expect(denied.status).to.equal(403);
    const token = await api.request<{ token: string }>("POST", `/v1/orgs/${org.orgId}/tokens`, {
      body: { name: "ro", scopes: ["deployments:read"] },
      headers: org.admin.auth,
    });
    const withToken = await api.request("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId: release1 },
      headers: { authorization: `Bearer ${token.body.token}` },
    });
    expect(withToken.status).to.equal(403);
  });

  it("rolls back with RollbackStack to the previous successful release, with a warning about volumes", async () => {
    const from = await db("deployments")
      .where({ environment_id: envId, status: "SUCCEEDED" })
      .orderBy("finished_at", "desc")
      .first<{ release_id: string }>("release_id");
    const res = await api.request<Deployment>("POST", `/v1/environments/${envId}/rollback`, {
      headers: org.admin.auth,
    });
    expect(res.status).to.equal(202);
    expect(res.body.kind).to.equal("rollback");
    expect(res.body.releaseId).to.equal(release1);
    await waitStatus(res.body.id, "SUCCEEDED");
    const sent = agent.received.filter((c) => (c.payload as { deploymentId: string }).deploymentId === res.body.id);
    expect(sent.map((c) => c.type)).to.deep.equal(["RollbackStack"]);
    const payload = sent[0]!.payload as unknown as RollbackStack;
    expect(payload).to.deep.include({ targetReleaseId: release1, fromReleaseId: from.release_id });
    expect(payload.labels["io.stackyard.release"]).to.equal(release1);
    expect(payload.labels["io.stackyard.deployment"]).to.equal(res.body.id);
    expect(payload.labels["io.stackyard.environment"]).to.equal(envId);
    expect(payload.composeYaml).to.include("nginx:1.25");
    const [first] = await db("deployment_events").where({ deployment_id: res.body.id }).orderBy("seq").limit(1);
    expect(first.level).to.equal("warn");
    expect(first.message).to.match(/volumes and data are NOT rolled back/);
  });

  it("cancels a queued deployment and refuses to cancel a finished one", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    onDeploy = async (p) => {
      await gate;
      await agent.emit(p.deploymentId, p.firstSeq, "done", { outcome: "succeeded" });
    };
    const running = await deploy(release1);
    await waitStatus(running.body.id, "RUNNING");
    const queued = await deploy(release2);
    const canceled = await api.request<Deployment>("POST", `/v1/deployments/${queued.body.id}/cancel`, {
      headers: org.admin.auth,
    });
    expect(canceled.status).to.equal(200);
    expect(canceled.body.status).to.equal("CANCELED");
    onDeploy = succeed;
    release();
    await waitStatus(running.body.id, "SUCCEEDED");
    const again = await api.request<{ error: { code: string } }>("POST", `/v1/deployments/${running.body.id}/cancel`, {
      headers: org.admin.auth,
    });
    expect(again.status).to.equal(409);
    expect(again.body.error.code).to.equal("DEPLOYMENT_FINISHED");
    expect(
      agent.received.some((c) => (c.payload as { deploymentId?: string }).deploymentId === queued.body.id),
    ).to.equal(false);
  });

  it("reports drift against what was actually deployed (release + overlay), live from the agent", async () => {
    const overlay = await api.request("PUT", `/v1/environments/${envId}/overlay`, {
      body: { envJson: {}, composePatchYaml: "services:\n  app:\n    deploy:\n      replicas: 3\n" },
      headers: org.admin.auth,
    });
    expect(overlay.status).to.equal(200);
    const res = await deploy(release1);
    await waitStatus(res.body.id, "SUCCEEDED");
    const [row] = await db("deployments").where({ id: res.body.id }).select("rendered_yaml");
    expect(row.rendered_yaml).to.include("replicas: 3");
    let live = { desiredReplicas: 3, runningReplicas: 3, image: "nginx:1.25" };
    agent.handlers.set("GetStatus", (command) => ({
      stackName: (command.payload as { stackName: string }).stackName,
      exists: true,
      services: [
        {
          id: "s1",
          name: `${(command.payload as { stackName: string }).stackName}_app`,
          mode: "replicated",
          updatedAt: new Date().toISOString(),
          tasks: [],
          ...live,
        },
      ],
    }));
    type Status = {
      source: string;
      inSync: boolean;
      sync: { reason: string };
      driftComparison: string | null;
      services: Array<{ name: string; drift: string[]; comparison: string; updateStatus: unknown }>;
    };
    const inSync = await api.get<Status>(`/v1/environments/${envId}/status`, org.admin.auth);
    expect(inSync.status).to.equal(200);
    expect(inSync.body).to.deep.include({ source: "agent", inSync: true });
    // An agent older than full drift sends no spec: image and replicas only, and the answer says so.
    expect(inSync.body.services[0]).to.deep.include({
      name: "app",
      drift: [],
      comparison: "partial",
      updateStatus: null,
    });
    expect(inSync.body.driftComparison).to.equal("partial");
    expect(inSync.body.sync.reason).to.match(/^in sync with release v\d+ \(partial: only image and replicas compared/);
    live = { desiredReplicas: 1, runningReplicas: 1, image: "nginx:1.27" };
    const drifted = await api.get<Status>(`/v1/environments/${envId}/status`, org.admin.auth);
    expect(drifted.body.inSync).to.equal(false);
    expect(drifted.body.services[0]!.drift).to.deep.equal([
      "image nginx:1.27 ≠ desired nginx:1.25",
      "replicas 1 ≠ desired 3",
    ]);
  });

  it("refuses (409) a deploy onto a Swarm stack the inventory shows is not this environment's; adopt: true takes it, audited", async () => {
    const env = await api.get<{ swarmStack: string }>(`/v1/environments/${envId}`, org.admin.auth);
    const swarmStack = env.body.swarmStack;
    const foreign = {
      id: "svc-hand-made",
      name: `${swarmStack}_app`,
      image: "nginx:1.25",
      mode: "replicated",
      desiredReplicas: 1,
      runningReplicas: 1,
      stack: swarmStack,
      environmentId: null,
      updatedAt: "2026-01-01T00:00:00Z",
    };
    const before = await db("clusters").where({ id: agent.clusterId }).first("inventory_json");
    await db("clusters")
      .where({ id: agent.clusterId })
      .update({
        inventory_json: JSON.stringify({
          services: [
            foreign,
            // This environment's own service of the stack, and a service of another stack: neither is foreign.
            { ...foreign, id: "svc-own", name: `${swarmStack}_own`, environmentId: envId },
            { ...foreign, id: "svc-other", name: "other_app", stack: "other" },
          ],
          stacks: [],
          nodes: [],
        }),
      });
    try {
      const count = async () => Number((await db("deployments").where({ environment_id: envId }).count())[0]!.count);
      const n = await count();
      const refused = await deploy(release2);
      expect(refused.status, JSON.stringify(refused.body)).to.equal(409);
      expect(refused.body.error?.code).to.equal("SWARM_STACK_NOT_OWNED");
      expect(JSON.stringify(refused.body))
        .to.include(foreign.name)
        .and.not.include("_own")
        .and.not.include("other_app");
      expect(await count(), "nothing half-written").to.equal(n);

      const adopted = await api.request<Deployment>("POST", `/v1/environments/${envId}/deployments`, {
        body: { releaseId: release2, adopt: true },
        headers: org.admin.auth,
      });
      expect(adopted.status, JSON.stringify(adopted.body)).to.equal(202);
      expect(adopted.body.adopt).to.equal(true);
      await waitStatus(adopted.body.id, "SUCCEEDED");
      const command = agent.received.find(
        (c) => c.type === "DeployStack" && (c.payload as { deploymentId: string }).deploymentId === adopted.body.id,
      )!;
      expect((command.payload as unknown as DeployStack).adopt).to.equal(true);
      const audit = await db("audit_events")
        .where({ org_id: org.orgId, action: "environment.adopt_swarm_stack", target_id: envId })
        .select("data_json");
      expect(audit).to.have.length(1);
      expect(audit[0]!.data_json).to.deep.equal({ swarmStack, deploymentId: adopted.body.id });
    } finally {
      await db("clusters")
        .where({ id: agent.clusterId })
        .update({ inventory_json: before?.inventory_json ?? null });
    }
  });

  it("a deploy the agent refuses as not its environment's ends FAILED with the stable code", async () => {
    onDeploy = async (p) => {
      await agent.emit(p.deploymentId, p.firstSeq, "deployment failed: the Swarm stack is not this environment's", {
        level: "error",
        outcome: "failed",
        data: { code: "SWARM_STACK_NOT_OWNED" },
      });
    };
    try {
      const res = await deploy(release1);
      await waitStatus(res.body.id, "FAILED");
      const failed = await get(res.body.id);
      expect(failed).to.deep.include({ errorCode: "SWARM_STACK_NOT_OWNED", adopt: false });
      expect(failed.errorMessage).to.match(/not this environment's/);
    } finally {
      onDeploy = succeed;
    }
  });

  it("never sends secrets to an agent registered before sealing: FAILED AGENT_SEAL_KEY_MISSING, no command", async () => {
    const old = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "old", {
      sealKey: false,
    });
    try {
      old.handlers.set("DeployStack", (command) => ({
        deploymentId: (command.payload as unknown as DeployStack).deploymentId,
        status: "started",
      }));
      const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
        body: { name: uniqueName("old").replace(/[^a-z0-9-]/g, "") },
        headers: org.admin.auth,
      });
      const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
        body: { name: "prod", clusterId: old.clusterId },
        headers: org.admin.auth,
      });
      const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
        body: {
          sourceType: "upload",
          composeYaml:
            "services:\n  app:\n    image: nginx:1\n    secrets: [db_password]\nsecrets:\n  db_password:\n    external: true\n",
        },
        headers: org.admin.auth,
      });
      const put = await api.request("PUT", `/v1/environments/${env.body.id}/secrets/db_password`, {
        body: { value: "old-agent-canary-value" },
        headers: org.admin.auth,
      });
      expect(put.status).to.equal(201);
      const res = await api.request<Deployment>("POST", `/v1/environments/${env.body.id}/deployments`, {
        body: { releaseId: release.body.id },
        headers: org.admin.auth,
      });
      expect(res.status).to.equal(202);
      await waitStatus(res.body.id, "FAILED");
      const failed = await get(res.body.id);
      expect(failed.errorCode).to.equal("AGENT_SEAL_KEY_MISSING");
      expect(failed.errorMessage).to.match(/register the agent again/);
      expect(
        old.received.filter((c) => c.type === "DeployStack"),
        "no command was sent",
      ).to.have.length(0);
    } finally {
      await old.close();
    }
  });

  it("sends the release manifest's hooks, deploy timeout and health grace, and neither field for a release without any", async () => {
    const res = await api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/releases`, {
      body: {
        sourceType: "upload",
        composeYaml: "services:\n  app:\n    image: nginx:1.27\n",
        manifestYaml:
          "deploy:\n  timeoutSeconds: 77\nhooks:\n  pre_deploy:\n    service: app\n    command: [migrate]\n" +
          "services:\n  app:\n    healthGraceSeconds: 12\n",
      },
      headers: org.admin.auth,
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    const dep = await deploy(res.body.id, "key-hooks");
    await waitStatus(dep.body.id, "SUCCEEDED");
    const sent = (id: string) =>
      agent.received.find(
        (c) => c.type === "DeployStack" && (c.payload as { deploymentId: string }).deploymentId === id,
      )!.payload as unknown as DeployStack;
    expect(sent(dep.body.id).timeoutSeconds).to.equal(77);
    expect(sent(dep.body.id).hooks).to.deep.equal([
      { phase: "pre_deploy", service: "app", command: ["migrate"], timeoutSeconds: 300 },
    ]);
    expect(sent(dep.body.id).healthGraceSeconds).to.deep.equal({ app: 12 });
    const plain = await deploy(release1, "key-plain");
    await waitStatus(plain.body.id, "SUCCEEDED");
    expect(sent(plain.body.id)).to.not.have.property("hooks");
    expect(sent(plain.body.id)).to.not.have.property("healthGraceSeconds");
  });

  it("ends SUCCEEDED when the agent's outcome is stored before the worker marked the deployment RUNNING", async () => {
    // The agent reports success before it answers the command: the outcome reaches Postgres while PENDING.
    const regular = agent.handlers.get("DeployStack")!;
    agent.handlers.set("DeployStack", async (command: CommandEnvelope) => {
      const p = command.payload as unknown as DeployStack;
      await agent.emit(p.deploymentId, p.firstSeq, "converged", { outcome: "succeeded" });
      await sleep(400); // the events writer stores it meanwhile (well within the dispatch timeout)
      return { deploymentId: p.deploymentId, status: "started" };
    });
    try {
      const res = await deploy(release1);
      await waitStatus(res.body.id, "SUCCEEDED").catch(async (err: unknown) => {
        const rows = await db("deployment_events").where({ deployment_id: res.body.id }).orderBy("seq");
        throw new Error(`${String(err)}: ${JSON.stringify(rows.map((r) => [r.seq, r.message]))}`);
      });
      const done = await get(res.body.id);
      expect(done.startedAt).to.be.a("string");
      await sleep(300); // the worker's own RUNNING comes after: it must not move the row back
      expect((await get(res.body.id)).status).to.equal("SUCCEEDED");
    } finally {
      agent.handlers.set("DeployStack", regular);
    }
  });

  it("fails a RUNNING deployment at once when its agent restarted since it started (no outcome can come)", async () => {
    onDeploy = async (p) => {
      await agent.emit(p.deploymentId, p.firstSeq, "docker stack deploy finished; waiting for services to converge");
    };
    const res = await deploy(release1);
    await waitStatus(res.body.id, "RUNNING");
    const setAgentStart = (offsetSeconds: number) =>
      db.raw(
        `UPDATE clusters SET facts_json = facts_json ||
           jsonb_build_object('agentStartedAt', to_json(now() + make_interval(secs => ?))::jsonb) WHERE id = ?`,
        [offsetSeconds, agent.clusterId],
      );
    // An agent process that started before the deployment did: it runs it, nothing happens.
    await setAgentStart(-60);
    await failStaleDeployments(db, 3600, () => undefined);
    expect((await get(res.body.id)).status).to.equal("RUNNING");
    // A new agent process (restarted after the deploy began): the deployment ends FAILED with that reason.
    await setAgentStart(10);
    expect(await failStaleDeployments(db, 3600, () => undefined)).to.equal(1);
    const failed = await get(res.body.id);
    expect(failed.status).to.equal("FAILED");
    expect(failed.errorMessage).to.match(
      /^agent restarted mid-deploy \(its new process started at .+\): it does not resume/,
    );
    const rows = await db("deployment_events").where({ deployment_id: res.body.id }).orderBy("seq");
    expect(rows.map((r) => Number(r.seq))).to.deep.equal(rows.map((_r, i) => i));
    expect(rows.at(-1)!.message).to.match(/^agent restarted mid-deploy/);
    onDeploy = succeed;
  });

  it("does not fail a RUNNING deployment past its timeout while its cluster is link_down (the site buffers)", async () => {
    onDeploy = async (p) => {
      await agent.emit(p.deploymentId, p.firstSeq, "docker stack deploy finished; waiting for services to converge");
    };
    const res = await deploy(release1);
    await waitStatus(res.body.id, "RUNNING");
    const before = (await db("clusters").where({ id: agent.clusterId }).first("status")) as { status: string };
    const startedAgo = (interval: string) =>
      db("deployments")
        .where({ id: res.body.id })
        .update({ started_at: db.raw(`now() - interval '${interval}'`) });
    try {
      // The agent process is not known to have restarted (an earlier test set that): only the timeout matters here.
      await db.raw(`UPDATE clusters SET facts_json = facts_json - 'agentStartedAt' WHERE id = ?`, [agent.clusterId]);
      // Long past its deploy timeout, and its leaf-mode site is cut off from the hub: its outcome may be on the leaf.
      await startedAgo("1 day");
      await db("clusters").where({ id: agent.clusterId }).update({ status: "link_down" });
      expect(await failStaleDeployments(db, 0, () => undefined)).to.equal(0);
      expect((await get(res.body.id)).status).to.equal("RUNNING");
      // Older than the leaf keeps events (LEAF_EVENTS_MAX_AGE_MS): no outcome can come any more.
      await startedAgo("4 days");
      expect(await failStaleDeployments(db, 0, () => undefined)).to.equal(1);
      expect((await get(res.body.id)).status).to.equal("FAILED");

      // The same past the timeout on a cluster that is offline (the link works, the agent is silent): failed.
      const second = await deploy(release1);
      await waitStatus(second.body.id, "RUNNING");
      await db("deployments")
        .where({ id: second.body.id })
        .update({ started_at: db.raw("now() - interval '1 day'") });
      await db("clusters").where({ id: agent.clusterId }).update({ status: "offline" });
      expect(await failStaleDeployments(db, 0, () => undefined)).to.equal(1);
      const failed = await get(second.body.id);
      expect(failed.status).to.equal("FAILED");
      expect(failed.errorMessage).to.match(/^no result from the agent within the deploy timeout/);
    } finally {
      await db("clusters").where({ id: agent.clusterId }).update({ status: before.status });
      onDeploy = succeed;
    }
  });

  it("a deployment waits for an offline agent, says so, and fails after the wait limit", async () => {
    await agent.close();
    const res = await deploy(release2);
    await waitStatus(res.body.id, "FAILED");
    const final = await get(res.body.id);
    expect(final.errorMessage).to.match(/agent offline/);
    const messages = (await db("deployment_events").where({ deployment_id: res.body.id }).orderBy("seq")).map(
      (r) => r.message,
    );
    const waiting = messages.filter((m) => /waiting for the cluster's agent/.test(m));
    // Said once with its deadline (the wait here is shorter than one update interval), not once per retry.
    expect(waiting, messages.join("\n")).to.have.length(1);
    expect(waiting[0]).to.match(/fails at \d{4}-/);
    expect(
      messages.filter((m) => m.startsWith("dispatching")),
      "no dispatch without an agent",
    ).to.have.length(0);
    // Status falls back to the last inventory, saying how old it is and why.
    const status = await api.get<{ source: string; agentError: string | null; ageSeconds: number }>(
      `/v1/environments/${envId}/status`,
      org.admin.auth,
    );
    expect(status.status).to.equal(200);
    expect(status.body.source).to.equal("inventory");
    expect(status.body.agentError).to.match(/not connected|did not answer/);
    // An old observation is never "in sync": the state is unknown, and says why.
    const sync = status.body as unknown as { inSync: boolean | null; sync: { state: string; reason: string } };
    expect(sync.inSync).to.equal(null);
    expect(sync.sync.state).to.equal("unknown");
    expect(sync.sync.reason).to.match(/^unknown \(/);
  });

  it("has a history newest first", async () => {
    const list = await api.get<{ items: Deployment[] }>(
      `/v1/environments/${envId}/deployments?limit=3`,
      org.admin.auth,
    );
    expect(list.status).to.equal(200);
    expect(list.body.items).to.have.length(3);
    expect(list.body.items[0]!.status).to.equal("FAILED");
  });

  promotionAndApprovals(() => ({ api, db, natsUrl: nats.url }));
});

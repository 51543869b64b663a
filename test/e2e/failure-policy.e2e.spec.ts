/**
 * The environment's failure policy on the real Swarm (real agent, real control plane, real dockerd): a failed
 * deploy either recovers by itself (`onFailure: rollback`, the default: a new deployment of the last successful
 * release, linked to the failed one, audited) or stays failed for inspection (`pause`). The failure's headline
 * is its root cause, said once; the console has no docker `--detach` warnings.
 *
 * The stack is `fp<random>`, its environment `prod`, so the Swarm stack is `fp<random>-prod`; `after` removes it.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
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
import { sleep, until as untilEvery } from "../../services/_shared/testing/wait.js";
import { startTestStack, stopTestStack } from "../../services/_shared/testing/stack.js";

const POLL_MS = 300;
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> =>
  untilEvery(what, probe, timeoutMs, POLL_MS);

interface Deployment {
  id: string;
  status: "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELED";
  releaseId: string;
  kind: string;
  errorMessage: string | null;
  createdByType: string | null;
  rollbackOf: string | null;
  rolledBackBy?: string | null;
}
interface StoredEvent {
  seq: number;
  level: string;
  message: string;
  data: Record<string, unknown>;
}
interface ServiceSpec {
  Spec: { Labels?: Record<string, string>; TaskTemplate: { ContainerSpec: { Image: string } } };
}

describe("the failure policy on a real single-node Swarm (real agent, real control plane)", function () {
  this.timeout(180_000);
  const stackName = `fp${randomBytes(4).toString("hex")}`;
  const swarmStack = `${stackName}-prod`;
  const swarmService = `${swarmStack}_app`;
  const missingImage = `local/doesnotexist-${randomBytes(3).toString("hex")}:9`;
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let stateDir: string;
  let agent: AgentProcess | null = null;
  let envId: string;
  const releases = { v1: "", missing: "", crash: "" };

  const auth = () => org.admin.auth;
  const getDeployment = async (id: string) => {
    const res = await api.get<Deployment>(`/v1/deployments/${id}`, auth());
    expect(res.status).to.equal(200);
    return res.body;
  };
  const events = async (id: string): Promise<StoredEvent[]> => {
    const res = await fetch(`${platform.baseUrl}/v1/deployments/${id}/events`, {
      headers: auth(),
      signal: AbortSignal.timeout(60_000),
    });
    expect(res.status).to.equal(200);
    return (await res.text())
      .split("\n\n")
      .filter((b) => b.includes("event: deployment-event"))
      .map((b) => {
        const data = b
          .split("\n")
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trim())
          .join("\n");
        return JSON.parse(data) as StoredEvent;
      });
  };
  const waitForEnd = async (id: string, want: Deployment["status"], timeoutMs = 90_000): Promise<Deployment> => {
    const final = await until(
      `deployment ${id} to end`,
      async () => {
        const d = await getDeployment(id);
        return d.status === "PENDING" || d.status === "RUNNING" ? undefined : d;
      },
      timeoutMs,
    );
    if (final.status !== want) {
      const log = (await events(id)).map((e) => `${e.seq} ${e.level} ${e.message}`).join("\n");
      throw new Error(`deployment ${id} ended ${final.status} (${final.errorMessage}), not ${want}; events:\n${log}`);
    }
    return final;
  };
  const deploy = async (releaseId: string) => {
    const res = await api.request<Deployment>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId },
      headers: { ...auth(), "idempotency-key": randomBytes(8).toString("hex") },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return res.body;
  };
  const listDeployments = async () => {
    const res = await api.get<{ items: Deployment[] }>(`/v1/environments/${envId}/deployments`, auth());
    expect(res.status).to.equal(200);
    return res.body.items;
  };
  const inspectService = async (): Promise<ServiceSpec> =>
    (JSON.parse(await docker("service", "inspect", swarmService)) as ServiceSpec[])[0]!;
  const runningTasks = async (): Promise<number> =>
    (await docker("service", "ps", swarmService, "--filter", "desired-state=running", "--format", "{{.CurrentState}}"))
      .split("\n")
      .filter((l) => l.startsWith("Running")).length;
  /** The stack runs release v1's spec, 2 of 2 replicas. */
  const expectOnV1 = async () => {
    const spec = await inspectService();
    expect(spec.Spec.Labels?.["io.stackyard.release"]).to.equal(releases.v1);
    // The first deploy names the tag; a rollback deploys the image v1 ran, pinned by its local image ID.
    const imageId = await docker("image", "inspect", "--format", "{{.Id}}", TEST_IMAGE);
    expect([TEST_IMAGE, imageId]).to.include(spec.Spec.TaskTemplate.ContainerSpec.Image);
    await until("2 running tasks of release v1", async () => ((await runningTasks()) === 2 ? true : undefined), 30_000);
  };
  /** The console says how the deployment ended exactly once, and never shows docker's --detach warnings. */
  const expectOneTerminalLine = (list: StoredEvent[]) => {
    expect(list.filter((e) => e.data.terminal === true)).to.have.length(1);
    expect(list.filter((e) => /^deployment (failed|succeeded)/.test(e.message))).to.have.length(1);
    expect(list.filter((e) => /detach/i.test(e.message))).to.deep.equal([]);
  };

  before(async function () {
    this.timeout(180_000);
    await prepareSwarm();
    ({ db, nats, platform, api } = await startTestStack());
    org = await createOrgWithAdmin(api);
    stateDir = await mkdtemp(join(tmpdir(), "stackyard-fp-agent-"));
    const cluster = await api.request<{ cluster: { id: string }; registrationToken: string }>(
      "POST",
      `/v1/orgs/${org.orgId}/clusters`,
      { body: { name: "fp-swarm" }, headers: auth() },
    );
    expect(cluster.status).to.equal(201);
    const register = spawnAgent(["register", "--url", platform.baseUrl, "--state-dir", stateDir], {
      STACKYARD_AGENT_TOKEN: cluster.body.registrationToken,
    });
    expect(await register.exited, register.output.join("\n")).to.equal(0);
    agent = spawnAgent(["run", "--state-dir", stateDir], {
      STACKYARD_AGENT_HEARTBEAT_INTERVAL_MS: "1000",
      STACKYARD_AGENT_LOG_LEVEL: "info",
    });
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: stackName },
      headers: auth(),
    });
    expect(stack.status).to.equal(201);
    const env = await api.request<{ id: string; onFailure: string }>(
      "POST",
      `/v1/stacks/${stack.body.id}/environments`,
      {
        body: { name: "prod", clusterId: cluster.body.cluster.id, imageResolution: "never", deployTimeoutSeconds: 60 },
        headers: auth(),
      },
    );
    expect(env.status).to.equal(201);
    expect(env.body.onFailure, "rollback is the default").to.equal("rollback");
    envId = env.body.id;
    const release = async (composeYaml: string) => {
      const res = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
        body: { sourceType: "upload", composeYaml },
        headers: auth(),
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return res.body.id;
    };
    releases.v1 = await release(compose({ command: ["sleep", "3600"], replicas: 2 }));
    releases.missing = await release(
      compose({ command: ["sleep", "3600"], replicas: 2 }).replace(`image: ${TEST_IMAGE}`, `image: ${missingImage}`),
    );
    releases.crash = await release(compose({ command: ["sh", "-c", "exit 1"], replicas: 2 }));
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
  });

  after(async function () {
    this.timeout(120_000);
    await stopAgent(agent);
    await removeStack(swarmStack).catch((err: unknown) => console.error(String(err)));
    await stopTestStack({ db, nats, platform });
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed" && agent) {
      console.error(`--- agent output (last 80 lines) ---\n${agent.output.slice(-80).join("\n")}`);
    }
  });

  it("1. deploys release v1: SUCCEEDED, one terminal line, no --detach warnings", async () => {
    const created = await deploy(releases.v1);
    await waitForEnd(created.id, "SUCCEEDED");
    expectOneTerminalLine(await events(created.id));
    await expectOnV1();
  });

  it("2. a missing image: FAILED with the image in the headline, and the stack still on v1, running", async () => {
    const created = await deploy(releases.missing);
    const failed = await waitForEnd(created.id, "FAILED");
    expect(failed.errorMessage).to.include(missingImage);
    expect(failed.errorMessage, "the headline is the cause, not the outcome").not.to.match(/^deployment failed/);
    const list = await events(created.id);
    expectOneTerminalLine(list);
    // nothing on the swarm changed: no rollback is needed, and none is made
    expect(failed.rolledBackBy).to.equal(null);
    expect(list.at(-1)?.message).to.match(/nothing was changed on the swarm/);
    await expectOnV1();
  });

  it("3. onFailure rollback: a crashing release fails with its task error and rolls back to v1 by itself", async () => {
    const created = await deploy(releases.crash);
    const failed = await waitForEnd(created.id, "FAILED");
    // the root cause (the task's own error), not Swarm's summary ("update paused … task <id>")
    expect(failed.errorMessage).to.match(/non-zero exit \(1\)/);
    expect(failed.errorMessage).not.to.match(/^update paused|early termination of task/);
    const rollbackId = await until(
      "the automatic rollback",
      async () => (await getDeployment(created.id)).rolledBackBy ?? undefined,
      10_000,
    );
    const rollback = await waitForEnd(rollbackId, "SUCCEEDED");
    expect(rollback).to.deep.include({
      kind: "rollback",
      releaseId: releases.v1,
      rollbackOf: created.id,
      createdByType: "system",
    });
    await expectOnV1();
    expect((await inspectService()).Spec.Labels?.["io.stackyard.deployment"]).to.equal(rollbackId);

    const failedEvents = await events(created.id);
    expectOneTerminalLine(failedEvents);
    expect(failedEvents.at(-1)?.data).to.deep.include({ rollback: true, rollbackDeploymentId: rollbackId });
    expectOneTerminalLine(await events(rollbackId));

    const audit = await api.get<{
      items: Array<{ action: string; actorType: string; targetId: string; data: Record<string, unknown> }>;
    }>(`/v1/orgs/${org.orgId}/audit?action=deployment.auto_rollback`, auth());
    expect(audit.status).to.equal(200);
    expect(audit.body.items).to.have.length(1);
    expect(audit.body.items[0]).to.deep.include({ actorType: "system", targetId: rollbackId });
    expect(audit.body.items[0]?.data).to.deep.include({ failedDeploymentId: created.id, releaseId: releases.v1 });
  });

  it("4. onFailure pause: the same failure stays FAILED, with no rollback deployment", async () => {
    const patched = await api.request<{ onFailure: string }>("PATCH", `/v1/environments/${envId}`, {
      body: { onFailure: "pause" },
      headers: auth(),
    });
    expect(patched.status, JSON.stringify(patched.body)).to.equal(200);
    expect(patched.body.onFailure).to.equal("pause");
    const before = (await listDeployments()).length;
    const created = await deploy(releases.crash);
    const failed = await waitForEnd(created.id, "FAILED");
    expect(failed.errorMessage).to.match(/non-zero exit \(1\)/);
    // give a wrongly created rollback the time to show up
    await sleep(3_000);
    expect((await getDeployment(created.id)).rolledBackBy).to.equal(null);
    expect(await listDeployments()).to.have.length(before + 1);
    const list = await events(created.id);
    expectOneTerminalLine(list);
    expect(list.at(-1)?.message).to.match(/^failure policy pause: the stack is left as the failure left it/);
    expect((await inspectService()).Spec.Labels?.["io.stackyard.release"]).to.equal(releases.crash);
  });
});

/**
 * The failure policy at service level: real gateway, Postgres, NATS/JetStream, the real worker and event writer;
 * the agent is a scripted stand-in reporting each failure as the real one does (`data.error`, `data.stackChanged`).
 * The real agent on the real Swarm is test/e2e/failure-policy.e2e.spec.ts.
 */
import { expect } from "chai";
import type { Db } from "../_shared/db.js";
import { startFakeAgent, type FakeAgent } from "../_shared/testing/fake-agent.js";
import { createOrgWithAdmin, uniqueName, type TestOrg } from "../_shared/testing/fixtures.js";
import { ContractClient } from "../_shared/testing/http.js";
import { type TestNatsServer } from "../_shared/testing/nats-server.js";
import { type TestPlatform } from "../_shared/testing/platform.js";
import type { CommandEnvelope, DeployStack } from "../../nats/protocol/messages.js";
import { sleep, until } from "../_shared/testing/wait.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";

interface Deployment {
  id: string;
  status: string;
  releaseId: string;
  kind: string;
  errorMessage: string | null;
  rollbackOf: string | null;
  rolledBackBy?: string | null;
  createdByType: string | null;
}

describe("failure policy (real gateway, Postgres, JetStream; scripted agent)", function () {
  this.timeout(90_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;
  let agent: FakeAgent;
  let envId: string;
  const releases = { good: "", bad: "" };
  /** Release id → how the scripted agent ends a deployment of it. */
  const fails = new Set<string>();
  let stackChanged = true;

  const deploy = async (releaseId: string) => {
    const res = await api.request<Deployment>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId },
      headers: org.admin.auth,
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return res.body.id;
  };
  const get = async (id: string) => (await api.get<Deployment>(`/v1/deployments/${id}`, org.admin.auth)).body;
  const ended = (id: string) =>
    until(`deployment ${id} to end`, async () => {
      const d = await get(id);
      return d.status === "PENDING" || d.status === "RUNNING" ? undefined : d;
    });
  const deploymentsOf = async () =>
    (await api.get<{ items: Deployment[] }>(`/v1/environments/${envId}/deployments`, org.admin.auth)).body.items;

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack());
    org = await createOrgWithAdmin(api);
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "fake");
    const start = (command: CommandEnvelope) => {
      const p = command.payload as unknown as DeployStack;
      const release = p.labels["io.stackyard.release"] ?? "";
      setTimeout(() => {
        void (async () => {
          if (fails.has(release)) {
            const error =
              "service web_app: No such image: local/doesnotexist:9 (task 2 rejected; Swarm paused the update)";
            await agent.emit(p.deploymentId, p.firstSeq, `deployment failed: ${error}; Swarm's update is paused`, {
              level: "error",
              outcome: "failed",
              data: { status: "FAILED", error, stackChanged, phase: stackChanged ? "converge" : "preflight" },
            });
          } else {
            await agent.emit(p.deploymentId, p.firstSeq, "deployment succeeded", {
              outcome: "succeeded",
              data: { status: "SUCCEEDED", stackChanged: true },
            });
          }
        })();
      }, 50);
      return { deploymentId: p.deploymentId, status: "started" };
    };
    agent.handlers.set("DeployStack", start);
    agent.handlers.set("RollbackStack", start);
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("fp").replace(/[^a-z0-9-]/g, "") },
      headers: org.admin.auth,
    });
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      body: { name: "prod", clusterId: agent.clusterId },
      headers: org.admin.auth,
    });
    envId = env.body.id;
    const mk = async (tag: string) =>
      (
        await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
          body: { sourceType: "upload", composeYaml: `services:\n  app:\n    image: nginx:${tag}\n` },
          headers: org.admin.auth,
        })
      ).body.id;
    releases.good = await mk("1.27");
    releases.bad = await mk("1.28");
    fails.add(releases.bad);
  });

  after(async () => {
    await agent?.close();
    await stopTestStack({ db, nats, platform });
  });

  it("has nothing to go back to before the first success: FAILED, no rollback, and says so", async () => {
    const failed = await ended(await deploy(releases.bad));
    expect(failed.status).to.equal("FAILED");
    // the headline is the agent's root cause alone, not its terminal line
    expect(failed.errorMessage).to.equal(
      "service web_app: No such image: local/doesnotexist:9 (task 2 rejected; Swarm paused the update)",
    );
    expect(failed.rolledBackBy).to.equal(null);
    const events = await db("deployment_events").where({ deployment_id: failed.id }).orderBy("seq");
    expect(events.at(-1)?.message).to.match(/no earlier successful deployment to go back to/);
  });

  it("rolls a failure back once, to the last success; a failing automatic rollback does not chain", async () => {
    expect((await ended(await deploy(releases.good))).status).to.equal("SUCCEEDED");
    const failedId = await deploy(releases.bad);
    const failed = await ended(failedId);
    expect(failed.status).to.equal("FAILED");
    const rollbackId = await until(
      "the automatic rollback",
      async () => (await get(failedId)).rolledBackBy ?? undefined,
    );
    const rollback = await ended(rollbackId);
    expect(rollback).to.deep.include({
      status: "SUCCEEDED",
      kind: "rollback",
      releaseId: releases.good,
      rollbackOf: failedId,
      createdByType: "system",
    });
    const row = await db("audit_events").where({ action: "deployment.auto_rollback", target_id: rollbackId }).first();
    expect(row).to.deep.include({ actor_type: "system", actor_id: null });
    expect(row.data_json).to.deep.include({ failedDeploymentId: failedId, releaseId: releases.good });

    // the environment's good release starts failing too: its automatic rollback fails, and stops there
    fails.add(releases.good);
    try {
      const again = await deploy(releases.bad);
      const secondRollback = await until(
        "the second rollback",
        async () => (await get(again)).rolledBackBy ?? undefined,
      );
      expect((await ended(secondRollback)).status).to.equal("FAILED");
      await sleep(1_500);
      expect((await get(secondRollback)).rolledBackBy).to.equal(null);
      const events = await db("deployment_events").where({ deployment_id: secondRollback }).orderBy("seq");
      expect(events.at(-1)?.message).to.match(/this automatic rollback failed too: no further rollback/);
    } finally {
      fails.delete(releases.good);
    }
  });

  it("does not roll back a failure that changed nothing on the swarm, nor any failure under pause", async () => {
    expect((await ended(await deploy(releases.good))).status).to.equal("SUCCEEDED");
    stackChanged = false;
    try {
      const unchanged = await ended(await deploy(releases.bad));
      expect(unchanged.rolledBackBy).to.equal(null);
    } finally {
      stackChanged = true;
    }
    const patched = await api.request("PATCH", `/v1/environments/${envId}`, {
      body: { onFailure: "pause" },
      headers: org.admin.auth,
    });
    expect(patched.status).to.equal(200);
    const before = (await deploymentsOf()).length;
    const paused = await ended(await deploy(releases.bad));
    await sleep(1_500);
    expect((await get(paused.id)).rolledBackBy).to.equal(null);
    expect(await deploymentsOf()).to.have.length(before + 1);
  });
});

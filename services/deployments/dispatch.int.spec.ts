/**
 * Dispatch when the worker cannot know whether the agent got its command (dispatch.ts): a dispatch the agent did
 * not answer in time, and one the agent answered with events but whose dispatcher heard nothing, as when that
 * worker died after sending. Real gateway, Postgres, NATS/JetStream, the real workers and event writer; the agent
 * is a scripted stand-in. The real worker SIGKILLed on the real Swarm is test/faults/faults.e2e.ts.
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
import { withdrawDispatch } from "./dispatch.js";

/** Longer than DEPLOY_DISPATCH_TIMEOUT_MS below: the worker gives up on the answer first. */
const LATE_ANSWER_MS = 2_500;

describe("dispatch the worker cannot confirm (real gateway, Postgres, JetStream; scripted agent)", function () {
  this.timeout(90_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;
  let agent: FakeAgent;
  let envId: string;
  let releaseId: string;

  const deploy = async () => {
    const res = await api.request<{ id: string }>("POST", `/v1/environments/${envId}/deployments`, {
      body: { releaseId },
      headers: org.admin.auth,
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return res.body.id;
  };
  const statusOf = async (id: string) =>
    (await api.get<{ status: string }>(`/v1/deployments/${id}`, org.admin.auth)).body.status;
  const waitStatus = (id: string, status: string) =>
    until(`deployment ${id} ${status}`, async () => ((await statusOf(id)) === status ? true : undefined), 30_000);
  /** The DeployStack commands the scripted agent received for a deployment. */
  const commandsFor = (id: string) =>
    agent.received
      .filter((c) => c.type === "DeployStack" && (c.payload as { deploymentId?: string }).deploymentId === id)
      .map((c) => c.payload as unknown as DeployStack);
  const storedEvents = async (id: string) =>
    (await db("deployment_events").where({ deployment_id: id }).orderBy("seq")).map((r) => ({
      seq: Number(r.seq),
      message: r.message as string,
    }));
  const expectContiguousOneDispatch = (events: Array<{ seq: number; message: string }>) => {
    const summary = JSON.stringify(events);
    expect(
      events.map((e) => e.seq),
      summary,
    ).to.deep.equal(events.map((_e, i) => i));
    expect(
      events.filter((e) => e.message.startsWith("dispatching ")),
      summary,
    ).to.have.length(1);
  };

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack({
      DEPLOY_AGENT_WAIT_SECONDS: "60",
      DEPLOY_DISPATCH_TIMEOUT_MS: "1500",
    }));
    org = await createOrgWithAdmin(api);
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "fake");
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("disp").replace(/[^a-z0-9-]/g, "") },
      headers: org.admin.auth,
    });
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      body: { name: "prod", clusterId: agent.clusterId },
      headers: org.admin.auth,
    });
    envId = env.body.id;
    const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
      body: { sourceType: "upload", composeYaml: "services:\n  app:\n    image: nginx:1.27\n" },
      headers: org.admin.auth,
    });
    releaseId = release.body.id;
  });
  after(async () => {
    await agent?.close();
    await stopTestStack({ db, nats, platform });
  });

  it("sends a dispatch the agent did not answer in time again with the same numbers: one dispatch, nothing written in the agent's range", async () => {
    let calls = 0;
    agent.handlers.set("DeployStack", async (command: CommandEnvelope) => {
      const p = command.payload as unknown as DeployStack;
      // The first answer comes after the worker's dispatch timeout: it cannot know whether the agent has the
      // command, so the seqs after its dispatching event stay the agent's, and the next try sends the same ones.
      if (++calls === 1) await sleep(LATE_ANSWER_MS);
      else
        setTimeout(() => {
          void (async () => {
            await agent.emit(p.deploymentId, p.firstSeq, "Creating service app");
            await agent.emit(p.deploymentId, p.firstSeq + 1, "all services converged", { outcome: "succeeded" });
          })();
        }, 50);
      return { deploymentId: p.deploymentId, status: "started" };
    });
    const id = await deploy();
    await waitStatus(id, "SUCCEEDED");
    const sent = commandsFor(id);
    expect(sent, "sent twice").to.have.length(2);
    expect(sent[1]!.firstSeq, "with the same firstSeq").to.equal(sent[0]!.firstSeq);
    const events = await storedEvents(id);
    expectContiguousOneDispatch(events);
    expect(events.find((e) => e.message.startsWith("dispatching "))!.seq).to.equal(sent[0]!.firstSeq - 1);
    expect(events.filter((e) => /waiting for the cluster's agent/.test(e.message))).to.have.length(0);
  });

  it("does not send a job again whose agent already reported (its dispatcher heard nothing): RUNNING from the agent's events", async () => {
    agent.handlers.set("DeployStack", async (command: CommandEnvelope) => {
      const p = command.payload as unknown as DeployStack;
      // The agent starts at once but its answer comes too late: to the worker, as if it had died after sending.
      await agent.emit(p.deploymentId, p.firstSeq, "docker stack deploy finished; waiting for services to converge");
      await sleep(LATE_ANSWER_MS);
      return { deploymentId: p.deploymentId, status: "started" };
    });
    const id = await deploy();
    // The job's next run finds the agent's event after the dispatch.
    await waitStatus(id, "RUNNING");
    expect(commandsFor(id), "one command").to.have.length(1);
    const firstSeq = commandsFor(id)[0]!.firstSeq;
    // A dispatch the agent has spoken after is never taken back.
    expect(await db.transaction((trx) => withdrawDispatch(trx, id, firstSeq - 1))).to.equal(false);
    await agent.emit(id, firstSeq + 1, "all services converged", { outcome: "succeeded" });
    await waitStatus(id, "SUCCEEDED");
    expectContiguousOneDispatch(await storedEvents(id));
    expect(commandsFor(id), "still one command").to.have.length(1);
  });

  it("takes a dispatch back only while nothing follows it, when NATS had no subscriber for the command", async () => {
    await agent.close();
    const id = await deploy();
    await until(
      "the waiting line",
      async () =>
        (await storedEvents(id)).some((e) => /waiting for the cluster's agent/.test(e.message)) ? true : undefined,
      30_000,
    );
    const events = await storedEvents(id);
    expect(events.map((e) => e.seq)).to.deep.equal(events.map((_e, i) => i));
    expect(
      events.filter((e) => e.message.startsWith("dispatching ")),
      "no dispatch without an agent",
    ).to.have.length(0);
    const [row] = await db("deployments").where({ id }).select("dispatch_seq", "status");
    expect(row).to.deep.equal({ dispatch_seq: null, status: "PENDING" });
  });
});

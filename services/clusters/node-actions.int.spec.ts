/**
 * Node actions through the real gateway, Postgres and NATS, with a scripted agent: permission, the signed
 * UpdateNode command, the stored node rewritten from the answer, the audit row either way, and the agent's
 * refusals mapped to stable codes. The same action on a real three-node Swarm: test/multinode/multinode.e2e.ts.
 */
import { expect } from "chai";
import { startFakeAgent, type FakeAgent } from "../_shared/testing/fake-agent.js";
import { createOrgWithAdmin, createUserWithRole, uniqueName, type TestOrg } from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import { startTestStack, stopTestStack, type TestStack } from "../_shared/testing/stack.js";
import { until } from "../_shared/testing/wait.js";
import { agentSubjects } from "../../nats/protocol/subjects.js";
import type { UpdateNode } from "../../nats/protocol/commands/index.js";

const worker = {
  id: "swarm-w1",
  hostname: "worker-1",
  role: "worker",
  availability: "active",
  status: "ready",
  labels: { zone: "a" },
  nanoCpus: 2e9,
  memoryBytes: 8e9,
  engineVersion: "26.1.5",
  address: "10.0.0.11",
} as const;

describe("node actions (real gateway, Postgres, NATS; scripted agent)", function () {
  this.timeout(60_000);
  let stack: TestStack;
  let api: ContractClient;
  let org: TestOrg;
  let agent: FakeAgent;
  let nodePath = "";

  before(async () => {
    stack = await startTestStack();
    api = stack.api;
    org = await createOrgWithAdmin(api);
    agent = await startFakeAgent(api, stack.nats.url, { orgId: org.orgId, auth: org.admin.auth }, uniqueName("nodes"));
    const inventory = {
      clusterId: agent.clusterId,
      collectedAt: Date.now(),
      hash: "e".repeat(64),
      nodes: [worker],
      services: [],
      stacks: [],
    };
    agent.nc.publish(agentSubjects(agent.clusterId).inventory, new TextEncoder().encode(JSON.stringify(inventory)));
    await agent.nc.flush();
    const base = `/v1/orgs/${org.orgId}/clusters/${agent.clusterId}/nodes`;
    const node = await until("the node in the inventory", async () => {
      const res = await api.get<{ items: Array<{ id: string }> }>(base, org.admin.auth);
      return res.body.items[0];
    });
    nodePath = `${base}/${node.id}`;
  });

  after(async () => {
    await agent?.close();
    await stopTestStack(stack ?? {});
  });

  const audit = async () =>
    (
      await api.get<{ items: Array<{ action: string; data: Record<string, unknown> }> }>(
        `/v1/orgs/${org.orgId}/audit?action=node.update`,
        org.admin.auth,
      )
    ).body.items;

  it("drains a node as a CLUSTER_ADMIN through a signed UpdateNode, stores the answer and audits it", async () => {
    agent.handlers.set("UpdateNode", (c) => {
      const p = c.payload as unknown as UpdateNode;
      return { ...worker, availability: p.availability ?? worker.availability, labels: p.labels ?? worker.labels };
    });
    const admin = await createUserWithRole(api, org, "CLUSTER_ADMIN");
    const res = await api.request<{ availability: string; labels: Record<string, string> }>("PATCH", nodePath, {
      body: { availability: "drain", labels: { zone: "b", disk: "ssd" } },
      headers: admin.auth,
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body).to.deep.include({ availability: "drain", labels: { zone: "b", disk: "ssd" } });
    const sent = agent.received.filter((c) => c.type === "UpdateNode").at(-1);
    expect(sent?.payload).to.deep.equal({
      nodeId: "swarm-w1",
      availability: "drain",
      labels: { zone: "b", disk: "ssd" },
    });
    const listed = await api.get<{ items: Array<{ availability: string }> }>(
      nodePath.replace(/\/[^/]+$/, ""),
      org.admin.auth,
    );
    expect(listed.body.items[0]?.availability, "stored at once, not at the next inventory").to.equal("drain");
    const [entry] = await audit();
    expect(entry?.data).to.deep.include({
      node: "worker-1",
      availability: "drain",
      labels: ["disk", "zone"],
      outcome: "succeeded",
    });
  });

  it("refuses APP_ADMIN and VIEWER (403) without sending anything", async () => {
    const before = agent.received.length;
    for (const role of ["APP_ADMIN", "VIEWER"] as const) {
      const user = await createUserWithRole(api, org, role);
      const res = await api.request("PATCH", nodePath, { body: { availability: "pause" }, headers: user.auth });
      expect(res.status, role).to.equal(403);
    }
    expect(agent.received.length).to.equal(before);
  });

  it("answers 400 for an empty change or a label key a constraint could not name", async () => {
    for (const body of [{}, { labels: { "a b": "x" } }, { availability: "gone" }]) {
      const res = await api.request("PATCH", nodePath, { body, headers: org.admin.auth });
      expect(res.status, JSON.stringify(body)).to.equal(400);
    }
  });

  it("maps the agent's NODE_NOT_FOUND to 404 and other refusals to 502, auditing both as failed", async () => {
    agent.handlers.set("UpdateNode", () => {
      throw Object.assign(new Error("no Swarm node swarm-w1 on this cluster"), { code: "NODE_NOT_FOUND" });
    });
    const gone = await api.request<{ error: { code: string } }>("PATCH", nodePath, {
      body: { availability: "active" },
      headers: org.admin.auth,
    });
    expect(gone.status).to.equal(404);
    expect(gone.body.error.code).to.equal("NODE_NOT_FOUND");
    agent.handlers.set("UpdateNode", () => {
      throw Object.assign(new Error("update out of sequence"), { code: "NODE_UPDATE_FAILED" });
    });
    const refused = await api.request<{ error: { code: string } }>("PATCH", nodePath, {
      body: { availability: "active" },
      headers: org.admin.auth,
    });
    expect(refused.status).to.equal(502);
    expect(refused.body.error.code).to.equal("AGENT_REJECTED");
    const outcomes = (await audit()).slice(0, 2).map((e) => [e.data.outcome, e.data.code]);
    expect(outcomes).to.deep.equal([
      ["failed", "NODE_UPDATE_FAILED"],
      ["failed", "NODE_NOT_FOUND"],
    ]);
  });
});

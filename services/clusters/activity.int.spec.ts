/**
 * Cluster activity and security warnings from agents, against the real parts: a fake agent on the real NATS server
 * (operator mode, its own agent JWT) publishes Docker events and refusal reports; the real clusters service
 * persists them in Postgres, prunes them, and the real gateway serves them (answers checked against OpenAPI).
 */
import { expect } from "chai";
import sinon from "sinon";
import type { Service } from "moleculer";
import type { Db } from "../_shared/db.js";
import { createOrgWithAdmin, createUserWithRole, type TestOrg } from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import type { TestNatsServer } from "../_shared/testing/nats-server.js";
import type { TestPlatform } from "../_shared/testing/platform.js";
import { startFakeAgent, type FakeAgent } from "../_shared/testing/fake-agent.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";
import { sleep, until } from "../_shared/testing/wait.js";
import { CLUSTER_ACTIVITY_EVENT, type ClusterActivityBroadcast } from "../_shared/bus-events.js";
import type { CommandRejectionReport, DockerEvent } from "../../nats/protocol/messages.js";
import { agentSubjects } from "../../nats/protocol/subjects.js";

const enc = new TextEncoder();
const MAX_ROWS = 10;

interface Activity {
  id: string;
  type: string;
  action: string;
  objectId: string;
  name: string | null;
}
interface Page {
  items: Activity[];
  nextBefore: string | null;
}
interface Warning {
  id: string;
  code: string;
  reason: string;
  count: number;
  commandType: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
}

describe("cluster activity and security warnings (real NATS, Postgres, gateway)", function () {
  this.timeout(60_000);
  let db: Db;
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let api: ContractClient;
  let org: TestOrg;
  let other: TestOrg;
  let agent: FakeAgent;
  const handedOn: ClusterActivityBroadcast[] = [];
  let warn: sinon.SinonSpy;

  const publishEvent = async (event: Partial<DockerEvent>, cluster = agent) => {
    const message: DockerEvent = {
      clusterId: cluster.clusterId,
      ts: Date.now(),
      type: "service",
      action: "update",
      id: "svc-1",
      name: "web-prod_app",
      ...event,
    };
    cluster.nc.publish(agentSubjects(cluster.clusterId).dockerEvents, enc.encode(JSON.stringify(message)));
    await cluster.nc.flush();
  };
  const activityPath = (clusterId = agent.clusterId, orgId = org.orgId) =>
    `/v1/orgs/${orgId}/clusters/${clusterId}/activity`;
  const warningsPath = (query = "") => `/v1/orgs/${org.orgId}/clusters/${agent.clusterId}/security-warnings${query}`;
  const stored = async () =>
    Number(
      ((await db("cluster_activity").where({ cluster_id: agent.clusterId }).count("* as n")) as [{ n: string }])[0].n,
    );

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack({
      CLUSTER_ACTIVITY_MAX_ROWS: String(MAX_ROWS),
      CLUSTER_ACTIVITY_PRUNE_INTERVAL_MS: "300",
    }));
    org = await createOrgWithAdmin(api);
    other = await createOrgWithAdmin(api);
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "activity");
    platform.broker.createService({
      name: "activity-listener",
      events: {
        [CLUSTER_ACTIVITY_EVENT]: (ctx: { params: ClusterActivityBroadcast }) => void handedOn.push(ctx.params),
      },
    });
    const clusters = platform.broker.getLocalService("clusters") as Service;
    warn = sinon.spy(clusters.logger, "warn");
  });
  after(async () => {
    warn?.restore();
    await agent?.close();
    await stopTestStack({ db, nats, platform });
  });

  it("persists service, task and node events and serves them newest first, a page at a time", async () => {
    await publishEvent({ type: "service", action: "create", id: "svc-1", name: "web-prod_app" });
    await publishEvent({ type: "task", action: "start", id: "task-1", name: "web-prod_app.1.task-1" });
    await publishEvent({ type: "node", action: "update", id: "node-1", name: null });
    const first = await until("three activity items", async () => {
      const res = await api.get<Page>(`${activityPath()}?limit=2`, org.admin.auth);
      return res.status === 200 && res.body.nextBefore !== null ? res.body : undefined;
    });
    expect(first.items.map((i) => [i.type, i.action, i.objectId])).to.deep.equal([
      ["node", "update", "node-1"],
      ["task", "start", "task-1"],
    ]);
    const second = await api.get<Page>(`${activityPath()}?limit=2&before=${first.nextBefore}`, org.admin.auth);
    expect(second.status).to.equal(200);
    expect(second.body.items.map((i) => i.name)).to.deep.equal(["web-prod_app"]);
    expect(second.body.nextBefore).to.equal(null);

    const handed = handedOn.flatMap((b) => b.activity).map((a) => a.objectId);
    expect(handed, "handed on after persisting").to.include.members(["svc-1", "task-1", "node-1"]);
    expect(handedOn.every((b) => b.orgId === org.orgId && b.clusterId === agent.clusterId)).to.equal(true);
  });

  it("lets any member of the org read it, and nobody outside the org", async () => {
    const viewer = await createUserWithRole(api, org, "VIEWER");
    expect((await api.get<Page>(activityPath(), viewer.auth)).status).to.equal(200);
    expect((await api.get<Page>(warningsPath(), viewer.auth)).status).to.equal(200);
    expect((await api.get(activityPath(), other.admin.auth)).status, "another org is not found").to.equal(404);
    const foreign = await api.get<{ error: { code: string } }>(
      activityPath(agent.clusterId, other.orgId),
      other.admin.auth,
    );
    expect(foreign.status).to.equal(404);
    expect(foreign.body.error.code).to.equal("CLUSTER_NOT_FOUND");
    const bad = await api.get<{ error: { code: string } }>(`${activityPath()}?before=abc`, org.admin.auth);
    expect(bad.status).to.equal(400);
  });

  it("drops malformed, oversized and misaddressed messages with a structured log that holds no payload", async () => {
    const before = await stored();
    warn.resetHistory();
    const marker = "PAYLOAD-MARKER-7f3a";
    const subject = agentSubjects(agent.clusterId).dockerEvents;
    agent.nc.publish(subject, enc.encode(`{"not json ${marker}`));
    agent.nc.publish(subject, enc.encode(JSON.stringify({ clusterId: agent.clusterId, type: "secret", marker })));
    agent.nc.publish(subject, enc.encode(JSON.stringify({ pad: marker.repeat(2_000) })));
    await publishEvent({ clusterId: "6d0a3c1e-0000-4000-8000-000000000000", name: marker });
    const report = enc.encode(JSON.stringify({ code: "BAD_SIGNATURE", reason: marker }));
    agent.nc.publish(agentSubjects(agent.clusterId).rejected, report);
    await agent.nc.flush();
    const dropped = await until("five drop logs", async () => {
      const calls = warn.getCalls().filter((c) => (c.args[0] as { msg?: string }).msg === "agent message dropped");
      return calls.length >= 5 ? calls.map((c) => c.args[0] as Record<string, unknown>) : undefined;
    });
    expect(dropped.map((d) => d.code)).to.have.members([
      "MALFORMED_MESSAGE",
      "MALFORMED_MESSAGE",
      "MESSAGE_TOO_LARGE",
      "WRONG_CLUSTER",
      "MALFORMED_MESSAGE",
    ]);
    for (const d of dropped) {
      expect(d).to.include.keys("subject", "code", "reason", "bytes");
      expect(JSON.stringify(d)).to.not.include(marker);
    }
    await sleep(1_200);
    expect(await stored()).to.equal(before);
    expect((await api.get<{ items: Warning[] }>(warningsPath(), org.admin.auth)).body.items).to.have.length(0);
  });

  it("keeps at most the row cap per cluster and nothing past the max age (the retention job)", async () => {
    await db("cluster_activity").insert({
      org_id: org.orgId,
      cluster_id: agent.clusterId,
      ts: new Date(Date.now() - 400 * 24 * 3600_000),
      received_at: new Date(Date.now() - 400 * 24 * 3600_000),
      type: "service",
      action: "ancient",
      object_id: "svc-old",
    });
    for (let i = 0; i < MAX_ROWS + 5; i++) await publishEvent({ action: "update", id: `svc-${i}` });
    await until("the cap applied", async () => ((await stored()) === MAX_ROWS ? true : undefined), 10_000);
    const page = await api.get<Page>(`${activityPath()}?limit=200`, org.admin.auth);
    expect(page.body.items).to.have.length(MAX_ROWS);
    expect(page.body.items[0]?.objectId).to.equal(`svc-${MAX_ROWS + 4}`);
    expect(page.body.items.map((i) => i.action)).to.not.include("ancient");
  });

  it("raises a security warning from refusal reports (counted, audited once) that a CLUSTER_ADMIN acknowledges", async () => {
    const report = (over: Partial<CommandRejectionReport> = {}): CommandRejectionReport => ({
      clusterId: agent.clusterId,
      ts: Date.now(),
      subject: `cmd.${agent.clusterId}.DeployStack`,
      commandId: "8c1f6a52-7a0e-4c43-9f1d-2b3c4d5e6f70",
      type: "DeployStack",
      code: "BAD_SIGNATURE",
      reason: "the command's signature does not verify",
      ...over,
    });
    const send = async (r: CommandRejectionReport) => {
      agent.nc.publish(agentSubjects(agent.clusterId).rejected, enc.encode(JSON.stringify(r)));
      await agent.nc.flush();
    };
    await send(report());
    await send(report({ reason: "the command's signature does not verify (again)" }));
    const warning = await until("a counted warning", async () => {
      const res = await api.get<{ items: Warning[] }>(warningsPath(), org.admin.auth);
      const w = res.body.items[0];
      return w && w.count === 2 ? w : undefined;
    });
    expect(warning).to.deep.include({ code: "BAD_SIGNATURE", commandType: "DeployStack", acknowledgedAt: null });
    expect(warning.reason).to.equal("the command's signature does not verify (again)");
    const flagged = await api.get<{ openSecurityWarnings: number }>(
      `/v1/orgs/${org.orgId}/clusters/${agent.clusterId}`,
      org.admin.auth,
    );
    expect(flagged.body.openSecurityWarnings, "the cluster carries the open warning").to.equal(1);
    const audits = await db("audit_events").where({ org_id: org.orgId, action: "cluster.command_rejected" });
    expect(audits).to.have.length(1);
    expect(audits[0]).to.deep.include({ actor_type: "agent", target_type: "cluster", target_id: agent.clusterId });
    expect(handedOn.flatMap((b) => b.securityWarnings).map((w) => w.id)).to.include(warning.id);

    const ack = (auth: Record<string, string>, id = warning.id) =>
      api.request<Warning & { error?: { code: string } }>("POST", `${warningsPath()}/${id}/acknowledge`, {
        headers: auth,
      });
    const viewer = await createUserWithRole(api, org, "VIEWER");
    const appAdmin = await createUserWithRole(api, org, "APP_ADMIN");
    const clusterAdmin = await createUserWithRole(api, org, "CLUSTER_ADMIN");
    expect((await ack(viewer.auth)).status).to.equal(403);
    expect((await ack(appAdmin.auth)).status).to.equal(403);
    expect((await ack(other.admin.auth)).status).to.equal(404);
    const missing = await ack(clusterAdmin.auth, "00000000-0000-4000-8000-000000000000");
    expect(missing.status).to.equal(404);
    expect(missing.body.error?.code).to.equal("SECURITY_WARNING_NOT_FOUND");
    const done = await ack(clusterAdmin.auth);
    expect(done.status).to.equal(200);
    expect(done.body.acknowledgedBy).to.equal(clusterAdmin.userId);
    expect(done.body.acknowledgedAt).to.be.a("string");
    const again = await ack(org.admin.auth);
    expect(again.status).to.equal(409);
    expect(again.body.error?.code).to.equal("SECURITY_WARNING_ACKNOWLEDGED");
    const acked = await db("audit_events").where({
      org_id: org.orgId,
      action: "cluster.security_warning_acknowledged",
    });
    expect(acked).to.have.length(1);
    expect(acked[0]).to.deep.include({ actor_type: "user", actor_id: clusterAdmin.userId });

    expect((await api.get<{ items: Warning[] }>(warningsPath(), org.admin.auth)).body.items).to.have.length(0);
    const listed = await api.get<{ items: Array<{ id: string; openSecurityWarnings: number }> }>(
      `/v1/orgs/${org.orgId}/clusters`,
      org.admin.auth,
    );
    expect(listed.body.items.find((c) => c.id === agent.clusterId)?.openSecurityWarnings).to.equal(0);
    const all = await api.get<{ items: Warning[] }>(warningsPath("?includeAcknowledged=true"), org.admin.auth);
    expect(all.body.items.map((w) => w.id)).to.deep.equal([warning.id]);

    await send(report({ code: "REPLAYED", reason: "command id seen before" }));
    const reopened = await until("a new warning", async () => {
      const res = await api.get<{ items: Warning[] }>(warningsPath(), org.admin.auth);
      return res.body.items[0];
    });
    expect(reopened).to.deep.include({ code: "REPLAYED", count: 1 });
    expect(reopened.id).to.not.equal(warning.id);
  });
});

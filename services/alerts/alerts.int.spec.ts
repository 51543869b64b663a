/**
 * Alert rules against the real parts: the gateway and every service (the evaluator runs in the alerts service
 * every 200 ms), Postgres, a nats-server, a local webhook receiver and a local SMTP sink. The facts each kind
 * reads are written where the control plane keeps them (nodes, cluster status, Docker events, refusals,
 * deployments, the inventory); how agents' messages get there is tested by the clusters suites. Also: the rules
 * API's refusals and audit, acknowledge and silence, the quiet period, and two evaluators racing on one rule.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import type { Db } from "../_shared/db.js";
import { createOrgWithAdmin, createUserWithRole, uniqueName, type TestOrg } from "../_shared/testing/fixtures.js";
import { startFakeAgent, type FakeAgent } from "../_shared/testing/fake-agent.js";
import type { ContractClient } from "../_shared/testing/http.js";
import type { TestNatsServer } from "../_shared/testing/nats-server.js";
import type { TestPlatform } from "../_shared/testing/platform.js";
import { startSmtpSink, type SmtpSink } from "../_shared/testing/smtp-sink.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";
import { until } from "../_shared/testing/wait.js";
import { startWebhookReceiver, type WebhookReceiver } from "../_shared/testing/webhook-receiver.js";
import { systemScope } from "../_shared/tenant.js";
import { applyReading, startEvaluator } from "./evaluator.js";
import { ingressCertificates, readRule } from "./sources.js";
import type { AlertRuleRow, AlertView } from "./views.js";

const COMPOSE = "services:\n  web:\n    image: stackyard/busybox:test\n    deploy:\n      replicas: 2\n";

describe("alerts: rules, evaluation and history (real gateway, Postgres, nats-server, webhook receiver, SMTP sink)", function () {
  this.timeout(90_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;
  let agent: FakeAgent;
  let smtp: SmtpSink;
  let hooks: WebhookReceiver;
  let endpointId: string;

  before(async () => {
    smtp = await startSmtpSink();
    hooks = await startWebhookReceiver();
    ({ db, nats, platform, api } = await startTestStack({
      ALERT_EVAL_INTERVAL_MS: "200",
      ALERT_SMTP_HOST: "127.0.0.1",
      ALERT_SMTP_PORT: String(smtp.port),
      ALERT_SMTP_FROM: "alerts@stackyard.test",
      STACKYARD_TEST_NOTIFY_ALLOW_HOSTS: `127.0.0.1:${hooks.port}`,
      NOTIFY_POLL_INTERVAL_MS: "100",
      CLUSTER_OFFLINE_AFTER_SECONDS: "3600",
    }));
    org = await createOrgWithAdmin(api);
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "alerting");
    await db("clusters").where({ id: agent.clusterId }).update({ status: "online", last_seen_at: db.fn.now() });
    const endpoint = await api.request<{ endpoint: { id: string } }>(
      "POST",
      `/v1/orgs/${org.orgId}/notification-endpoints`,
      {
        body: { name: "hooks", url: `http://127.0.0.1:${hooks.port}/a`, eventTypes: ["release.created"] },
        headers: org.admin.auth,
      },
    );
    expect(endpoint.status, JSON.stringify(endpoint.body)).to.equal(201);
    endpointId = endpoint.body.endpoint.id;
  });
  after(async () => {
    await agent?.close();
    await stopTestStack({ db, nats, platform });
    await hooks?.stop();
    await smtp?.stop();
  });

  const rules = () => `/v1/orgs/${org.orgId}/alert-rules`;

  async function createRule(body: Record<string, unknown>): Promise<string> {
    const res = await api.request<{ id: string }>("POST", rules(), {
      body: {
        name: uniqueName("rule"),
        severity: "warning",
        clusterId: agent.clusterId,
        endpointIds: [endpointId],
        ...body,
      },
      headers: org.admin.auth,
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.id;
  }

  async function alertsOf(ruleId: string): Promise<AlertView[]> {
    const res = await api.get<{ items: AlertView[] }>(`/v1/orgs/${org.orgId}/alerts?ruleId=${ruleId}`, org.admin.auth);
    expect(res.status).to.equal(200);
    return res.body.items;
  }

  const waitFor = (ruleId: string, status: "firing" | "resolved", count = 1) =>
    until(`${count} ${status} alert(s) of rule ${ruleId}`, async () => {
      const items = await alertsOf(ruleId);
      return items.length === count && items[0]!.status === status ? items[0]! : undefined;
    });

  const hooksFor = (alertId: string) =>
    hooks.received
      .map((r) => JSON.parse(r.body) as { type: string; data: { id: string } })
      .filter((e) => e.data.id === alertId)
      .map((e) => e.type);

  async function environment() {
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("shop") },
      headers: org.admin.auth,
    });
    const env = await api.request<{ id: string; swarmStack: string }>(
      "POST",
      `/v1/stacks/${stack.body.id}/environments`,
      {
        body: { name: "prod", clusterId: agent.clusterId },
        headers: org.admin.auth,
      },
    );
    expect(env.status, JSON.stringify(env.body)).to.equal(201);
    const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
      body: { sourceType: "upload", composeYaml: COMPOSE },
      headers: org.admin.auth,
    });
    expect(release.status, JSON.stringify(release.body)).to.equal(201);
    return { envId: env.body.id, swarmStack: env.body.swarmStack, releaseId: release.body.id };
  }

  async function finishedDeployment(envId: string, releaseId: string, status: "SUCCEEDED" | "FAILED") {
    await db("deployments").insert({
      org_id: org.orgId,
      environment_id: envId,
      release_id: releaseId,
      status,
      finished_at: db.fn.now(),
      error_message: status === "FAILED" ? "task: non-zero exit (1)" : null,
    });
  }

  describe("the rules API", () => {
    it("creates, lists, changes and deletes a rule, each audited; refuses unknown endpoints, a taken name, a viewer", async () => {
      const id = await createRule({ name: "api rule", kind: "node_down", windowSeconds: 30 });
      const listed = await api.get<{ items: Array<{ id: string; windowSeconds: number }> }>(rules(), org.admin.auth);
      expect(listed.body.items.find((r) => r.id === id)).to.include({ windowSeconds: 30 });
      const taken = await api.request<{ error: { code: string } }>("POST", rules(), {
        body: { name: "api rule", kind: "node_down", severity: "info" },
        headers: org.admin.auth,
      });
      expect(taken.status).to.equal(409);
      expect(taken.body.error.code).to.equal("ALERT_RULE_NAME_TAKEN");
      const unknown = await api.request<{ error: { code: string } }>("POST", rules(), {
        body: { name: "x", kind: "node_down", severity: "info", endpointIds: [randomUUID()] },
        headers: org.admin.auth,
      });
      expect(unknown.status).to.equal(422);
      expect(unknown.body.error.code).to.equal("ALERT_ENDPOINT_UNKNOWN");
      const viewer = await createUserWithRole(api, org, "VIEWER");
      expect(
        (
          await api.request("POST", rules(), {
            body: { name: "v", kind: "node_down", severity: "info" },
            headers: viewer.auth,
          })
        ).status,
      ).to.equal(403);
      expect((await api.get(`/v1/orgs/${org.orgId}/alerts`, viewer.auth)).status).to.equal(200);
      const patched = await api.request<{ severity: string }>("PATCH", `${rules()}/${id}`, {
        body: { severity: "critical" },
        headers: org.admin.auth,
      });
      expect(patched.body.severity).to.equal("critical");
      expect((await api.request("DELETE", `${rules()}/${id}`, { headers: org.admin.auth })).status).to.equal(204);
      const audit = await db("audit_events").where({ org_id: org.orgId, target_id: id }).orderBy("ts").pluck("action");
      expect(audit).to.deep.equal(["alert_rule.create", "alert_rule.update", "alert_rule.delete"]);
    });
  });

  describe("kinds", () => {
    it("node_down: fires for a node not ready, with webhook and email, and resolves when it is ready", async () => {
      const ruleId = await createRule({ kind: "node_down", emailRecipients: ["ops@stackyard.test"] });
      await db("cluster_nodes").insert({
        org_id: org.orgId,
        cluster_id: agent.clusterId,
        node_id: "worker-1",
        hostname: "worker-1.local",
        role: "worker",
        availability: "active",
        status: "down",
      });
      const firing = await waitFor(ruleId, "firing");
      expect(firing).to.include({ subject: `${agent.clusterId}/worker-1`, kind: "node_down" });
      expect(firing.summary).to.contain("node worker-1.local is down");
      await db("cluster_nodes").where({ cluster_id: agent.clusterId, node_id: "worker-1" }).update({ status: "ready" });
      await waitFor(ruleId, "resolved");
      await until("both webhooks", async () => (hooksFor(firing.id).length === 2 ? true : undefined));
      expect(hooksFor(firing.id)).to.deep.equal(["alert.firing", "alert.resolved"]);
      const mails = await until("both emails", async () => {
        const m = smtp.mails.filter((x) => x.raw.includes(firing.id));
        return m.length === 2 ? m : undefined;
      });
      expect(mails.map((m) => m.subject.split(":")[0])).to.have.members([
        "[Stackyard] FIRING warning",
        "[Stackyard] RESOLVED",
      ]);
      await db("cluster_nodes").where({ cluster_id: agent.clusterId, node_id: "worker-1" }).delete();
    });

    it("cluster_offline: fires once the cluster was offline for the window (counted from its last heartbeat), resolves online", async () => {
      const other = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "far-away");
      try {
        await db("clusters")
          .where({ id: other.clusterId })
          .update({ status: "offline", last_seen_at: db.raw("now() - interval '10 seconds'") });
        const ruleId = await createRule({ kind: "cluster_offline", windowSeconds: 5, clusterId: other.clusterId });
        const firing = await waitFor(ruleId, "firing");
        expect(firing.subject).to.equal(other.clusterId);
        expect(Date.parse(firing.firedAt) - Date.parse(firing.since)).to.be.at.least(5_000);
        await db("clusters").where({ id: other.clusterId }).update({ status: "online", last_seen_at: db.fn.now() });
        await waitFor(ruleId, "resolved");
      } finally {
        await other.close();
      }
    });

    it("deployment_failed: fires for an environment whose latest deployment failed, resolves on a later success", async () => {
      const { envId, releaseId } = await environment();
      const ruleId = await createRule({ kind: "deployment_failed", clusterId: null, environmentId: envId });
      await finishedDeployment(envId, releaseId, "FAILED");
      const firing = await waitFor(ruleId, "firing");
      expect(firing.summary).to.contain("deployment failed — task: non-zero exit (1)");
      await finishedDeployment(envId, releaseId, "SUCCEEDED");
      await waitFor(ruleId, "resolved");
    });

    it("service_below_replicas and drift_detected: from the inventory against what Stackyard deployed", async () => {
      const { envId, swarmStack, releaseId } = await environment();
      await finishedDeployment(envId, releaseId, "SUCCEEDED");
      const inventory = (desired: number, running: number) => ({
        services: [
          {
            id: "svc1",
            name: `${swarmStack}_web`,
            image: "stackyard/busybox:test",
            mode: "replicated",
            desiredReplicas: desired,
            runningReplicas: running,
            updatedAt: new Date().toISOString(),
            stack: swarmStack,
            environmentId: envId,
          },
        ],
        stacks: [],
        collectedAt: Date.now(),
      });
      await db("clusters")
        .where({ id: agent.clusterId })
        .update({ inventory_json: JSON.stringify(inventory(1, 1)) });
      // Rules made after the inventory: the first reading already sees the service (1 of 2).
      const below = await createRule({ kind: "service_below_replicas", environmentId: envId });
      const drift = await createRule({ kind: "drift_detected", environmentId: envId });
      const short = await waitFor(below, "firing");
      expect(short.summary).to.contain("service web runs 1 of 2 replicas");
      const drifted = await waitFor(drift, "firing");
      expect(drifted.summary).to.contain("replicas 1 ≠ desired 2");
      await db("clusters")
        .where({ id: agent.clusterId })
        .update({ inventory_json: JSON.stringify(inventory(2, 2)) });
      await waitFor(below, "resolved");
      await waitFor(drift, "resolved");
    });

    it("task_restart_loop: fires when a service's tasks died `threshold` times within the window, resolves when they stop", async () => {
      const ruleId = await createRule({ kind: "task_restart_loop", threshold: 3, windowSeconds: 2 });
      await db("cluster_activity").insert(
        [1, 2, 3].map((i) => ({
          org_id: org.orgId,
          cluster_id: agent.clusterId,
          ts: new Date(),
          type: "task",
          action: "die",
          object_id: `task${i}`,
          name: `crashy_web.1.task${i}`,
        })),
      );
      const firing = await waitFor(ruleId, "firing");
      expect(firing.subject).to.equal(`${agent.clusterId}/crashy_web`);
      expect(firing.summary).to.contain("restarted 3 times in 2s");
      await waitFor(ruleId, "resolved");
    });

    it("agent_refused_command: fires for an open refusal warning, resolves when it is acknowledged", async () => {
      const ruleId = await createRule({ kind: "agent_refused_command", severity: "critical" });
      const [warning] = await db("cluster_security_warnings")
        .insert({
          org_id: org.orgId,
          cluster_id: agent.clusterId,
          code: "BAD_SIGNATURE",
          reason: "the signature does not verify",
          subject: `cmd.${agent.clusterId}.DeployStack`,
        })
        .returning("id");
      const firing = await waitFor(ruleId, "firing");
      expect(firing.summary).to.contain("BAD_SIGNATURE");
      await db("cluster_security_warnings").where({ id: warning.id }).update({ acknowledged_at: db.fn.now() });
      await waitFor(ruleId, "resolved");
    });

    it("certificate_expiring: fires for a current ingress certificate inside the threshold, resolves once it is replaced", async () => {
      // Disabled: only this test evaluates it, through the default source (the ingress certificates in Postgres).
      const ruleId = await createRule({ kind: "certificate_expiring", threshold: 7, enabled: false });
      const rule = (await db("alert_rules").where({ id: ruleId }).first()) as AlertRuleRow;
      const certificate = (host: string, days: number) => ({
        org_id: org.orgId,
        cluster_id: agent.clusterId,
        host,
        source: "upload",
        certificate_pem: "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        key_ciphertext: Buffer.from("x"),
        key_nonce: Buffer.from("n"),
        key_auth_tag: Buffer.from("t"),
        key_id: "local1",
        serial: `serial-${host}`,
        issuer: "test CA",
        not_before: new Date(Date.now() - 86_400_000),
        not_after: new Date(Date.now() + days * 86_400_000),
      });
      const [soon] = await db("ingress_certificates").insert(certificate("app.test", 3)).returning("id");
      await db("ingress_certificates").insert(certificate("later.test", 30));
      const evaluate = () =>
        db.transaction(async (trx) => {
          const scope = systemScope(trx, org.orgId, "alerts");
          const reading = await readRule(scope, rule, { certificates: ingressCertificates });
          await applyReading(scope, rule, reading, new Date());
          return reading.violations.map((v) => v.subject);
        });
      expect(await evaluate()).to.deep.equal([soon.id]);
      const [alert] = await alertsOf(ruleId);
      expect(alert).to.include({ status: "firing", subject: soon.id });
      expect(alert!.summary).to.contain("certificate app.test expires");
      // Renewed: the old one is replaced by one valid for 90 days.
      await db("ingress_certificates").where({ id: soon.id }).update({ replaced_at: db.fn.now() });
      await db("ingress_certificates").insert({ ...certificate("app.test", 90), serial: "serial-renewed" });
      expect(await evaluate()).to.deep.equal([]);
      expect((await alertsOf(ruleId))[0]).to.include({ status: "resolved" });
    });
  });

  describe("acknowledge, silence, quiet period, replicas", () => {
    async function downNode(nodeId: string, status: "down" | "ready") {
      await db("cluster_nodes")
        .insert({
          org_id: org.orgId,
          cluster_id: agent.clusterId,
          node_id: nodeId,
          hostname: nodeId,
          role: "worker",
          availability: "active",
          status,
        })
        .onConflict(["cluster_id", "node_id"])
        .merge(["status"]);
    }

    it("acknowledges (audited, a viewer refused) and silences: a silenced alert resolves without a notification", async () => {
      const ruleId = await createRule({ kind: "node_down" });
      await downNode("ack-node", "down");
      const firing = await waitFor(ruleId, "firing");
      const viewer = await createUserWithRole(api, org, "VIEWER");
      const base = `/v1/orgs/${org.orgId}/alerts/${firing.id}`;
      expect((await api.request("POST", `${base}/acknowledge`, { headers: viewer.auth })).status).to.equal(403);
      const acked = await api.request<AlertView>("POST", `${base}/acknowledge`, { headers: org.admin.auth });
      expect(acked.status).to.equal(200);
      expect(acked.body.acknowledgedAt).to.be.a("string");
      expect(acked.body.acknowledgedBy).to.equal(org.admin.userId);
      const until1h = new Date(Date.now() + 3_600_000).toISOString();
      const silenced = await api.request<AlertView>("POST", `${base}/silence`, {
        body: { until: until1h },
        headers: org.admin.auth,
      });
      expect(silenced.status).to.equal(200);
      expect(Date.parse(silenced.body.silencedUntil!)).to.equal(Date.parse(until1h));
      await until("the firing webhook", async () => (hooksFor(firing.id).includes("alert.firing") ? true : undefined));
      await downNode("ack-node", "ready");
      await waitFor(ruleId, "resolved");
      const audit = await db("audit_events")
        .where({ org_id: org.orgId, target_id: firing.id })
        .orderBy("ts")
        .pluck("action");
      expect(audit).to.deep.equal(["alert.fire", "alert.acknowledge", "alert.silence", "alert.resolve"]);
      const resolveAudit = await db("audit_events").where({ target_id: firing.id, action: "alert.resolve" }).first();
      expect(resolveAudit.data_json).to.include({ silenced: true });
      const queued = await db("notification_deliveries")
        .where({ org_id: org.orgId })
        .whereRaw("event->'envelope'->'data'->>'id' = ?", [firing.id])
        .pluck("event_type");
      expect(queued).to.deep.equal(["alert.firing"]);
      expect(
        (
          await api.request("POST", `/v1/orgs/${org.orgId}/alerts/${randomUUID()}/acknowledge`, {
            headers: org.admin.auth,
          })
        ).status,
      ).to.equal(404);
    });

    it("stays quiet for the quiet period after a resolve: the condition returns, nothing fires", async () => {
      const ruleId = await createRule({ kind: "node_down", quietSeconds: 3600 });
      await downNode("flappy", "down");
      await waitFor(ruleId, "firing");
      await downNode("flappy", "ready");
      await waitFor(ruleId, "resolved");
      await downNode("flappy", "down");
      await until("the condition pending again", async () =>
        (await db("alert_conditions")
          .where({ rule_id: ruleId, subject: `${agent.clusterId}/flappy` })
          .first())
          ? true
          : undefined,
      );
      const rule = await db("alert_rules").where({ id: ruleId }).first();
      await until("two more evaluations", async () => {
        const now = await db("alert_rules").where({ id: ruleId }).first();
        return now.next_eval_at.getTime() > rule.next_eval_at.getTime() + 200 ? true : undefined;
      });
      expect(await alertsOf(ruleId)).to.have.length(1);
      await downNode("flappy", "ready");
    });

    it("two evaluators racing on one rule fire it once, with one delivery", async () => {
      const ruleId = await createRule({ kind: "node_down", enabled: false });
      await downNode("raced", "down");
      const log = { warn: () => undefined };
      const a = startEvaluator({ db, intervalMs: 60_000, certificates: () => Promise.resolve([]), log });
      const b = startEvaluator({ db, intervalMs: 60_000, certificates: () => Promise.resolve([]), log });
      try {
        // Enabled now, due now: the platform's evaluator and these two all go for it at once.
        await db("alert_rules").where({ id: ruleId }).update({ enabled: true, next_eval_at: db.fn.now() });
        await Promise.all([a.runOnce(), b.runOnce(), a.runOnce(), b.runOnce()]);
        const firing = await waitFor(ruleId, "firing");
        const queued = await db("notification_deliveries").whereRaw("event->'envelope'->'data'->>'id' = ?", [
          firing.id,
        ]);
        expect(queued).to.have.length(1);
        expect(await db("audit_events").where({ target_id: firing.id, action: "alert.fire" })).to.have.length(1);
      } finally {
        await a.stop();
        await b.stop();
        await downNode("raced", "ready");
      }
    });
  });
});

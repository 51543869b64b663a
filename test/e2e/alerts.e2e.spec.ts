/**
 * "Service below desired replicas" end to end on the real single-node Swarm (real control plane, real agent, real
 * dockerd): the service is scaled down behind Stackyard's back, so Swarm itself is content and only Stackyard's
 * desired count says it is short; past the rule's window the alert fires to a local webhook receiver (signed) and
 * to a local SMTP sink, and resolves to both when the service is scaled back.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { docker, testStackCompose as compose } from "../../services/_shared/testing/swarm.js";
import { startSwarmWorld, type SwarmWorld, type WorldEnvironment } from "../../services/_shared/testing/swarm-world.js";
import { startSmtpSink, type SmtpSink } from "../../services/_shared/testing/smtp-sink.js";
import { until } from "../../services/_shared/testing/wait.js";
import { startWebhookReceiver, type WebhookReceiver } from "../../services/_shared/testing/webhook-receiver.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from "../../services/notifications/signature.js";

interface AlertBody {
  id: string;
  status: "firing" | "resolved";
  subject: string;
  summary: string;
  since: string;
  firedAt: string;
  resolvedAt: string | null;
  details: Record<string, unknown>;
}

const WINDOW_SECONDS = 3;

describe("alerts: service below desired replicas (real agent, real control plane, real Swarm, webhook + SMTP)", function () {
  this.timeout(180_000);
  let world: SwarmWorld;
  let env: WorldEnvironment;
  let smtp: SmtpSink;
  let hooks: WebhookReceiver;
  let secret: string;
  let ruleId: string;
  const swarmService = () => `${env.swarmStack}_app`;

  before(async function () {
    this.timeout(240_000);
    smtp = await startSmtpSink();
    hooks = await startWebhookReceiver();
    world = await startSwarmWorld({
      clusterName: "h-alerts-swarm",
      env: {
        ALERT_EVAL_INTERVAL_MS: "300",
        ALERT_SMTP_HOST: "127.0.0.1",
        ALERT_SMTP_PORT: String(smtp.port),
        ALERT_SMTP_FROM: "alerts@stackyard.test",
        STACKYARD_TEST_NOTIFY_ALLOW_HOSTS: `127.0.0.1:${hooks.port}`,
        NOTIFY_POLL_INTERVAL_MS: "200",
        NOTIFY_RETRY_BASE_MS: "200",
      },
    });
    const stackId = await world.createStack(`h-alerts-${randomBytes(3).toString("hex")}`);
    env = await world.createEnvironment(stackId, "prod");
    const v1 = await world.uploadRelease(stackId, compose({ command: ["sleep", "3600"], replicas: 2 }));
    await world.deploy(env, v1);
    const endpoint = await world.api.request<{ endpoint: { id: string }; signingSecret: string }>(
      "POST",
      `/v1/orgs/${world.org.orgId}/notification-endpoints`,
      {
        body: { name: "oncall", url: `http://127.0.0.1:${hooks.port}/alerts`, eventTypes: ["deployment.failed"] },
        headers: world.auth(),
      },
    );
    expect(endpoint.status, JSON.stringify(endpoint.body)).to.equal(201);
    secret = endpoint.body.signingSecret;
    const rule = await world.api.request<{ id: string }>("POST", `/v1/orgs/${world.org.orgId}/alert-rules`, {
      body: {
        name: "replicas short",
        kind: "service_below_replicas",
        severity: "critical",
        windowSeconds: WINDOW_SECONDS,
        environmentId: env.id,
        endpointIds: [endpoint.body.endpoint.id],
        emailRecipients: ["oncall@stackyard.test"],
      },
      headers: world.auth(),
    });
    expect(rule.status, JSON.stringify(rule.body)).to.equal(201);
    ruleId = rule.body.id;
  });
  after(async function () {
    this.timeout(120_000);
    await world?.stop();
    await hooks?.stop();
    await smtp?.stop();
  });

  const hook = (type: string) => hooks.received.find((r) => (JSON.parse(r.body) as { type: string }).type === type);
  const alerts = async () =>
    (await world.api.get<{ items: AlertBody[] }>(`/v1/orgs/${world.org.orgId}/alerts?ruleId=${ruleId}`, world.auth()))
      .body.items;

  it("stays quiet while the service runs its desired replicas", async () => {
    // Several evaluations of a healthy service (the rule is evaluated every 300 ms) leave no alert and no condition.
    await until("the rule evaluated since it was created", async () => {
      const rule = await world.db("alert_rules").where({ id: ruleId }).first();
      return rule.next_eval_at > rule.created_at ? true : undefined;
    });
    expect(await alerts()).to.deep.equal([]);
    expect(await world.db("alert_conditions").where({ rule_id: ruleId })).to.deep.equal([]);
  });

  it("fires past the window when the service is scaled down behind Stackyard's back, to the webhook and by email", async () => {
    await docker("service", "scale", "--detach", `${swarmService()}=0`);
    const firing = await until("the firing webhook", async () => hook("alert.firing"), 60_000, 200);
    const timestamp = Number(firing.headers[TIMESTAMP_HEADER]);
    expect(verifySignature(secret, timestamp, firing.body, String(firing.headers[SIGNATURE_HEADER]))).to.equal(true);
    const event = JSON.parse(firing.body) as { type: string; data: AlertBody & { severity: string } };
    expect(event.data).to.include({ status: "firing", subject: `${env.id}/app`, severity: "critical" });
    expect(event.data.summary).to.contain("runs 0 of 2 replicas");
    expect(event.data.details).to.include({ desiredReplicas: 2, runningReplicas: 0, swarmDesiredReplicas: 0 });
    // Held for the window before it fired.
    expect(Date.parse(event.data.firedAt) - Date.parse(event.data.since)).to.be.at.least(WINDOW_SECONDS * 1000);

    const mail = await until("the firing email", async () => smtp.mails.find((m) => m.subject.includes("FIRING")));
    expect(mail.to).to.deep.equal(["oncall@stackyard.test"]);
    expect(mail.from).to.equal("alerts@stackyard.test");
    expect(mail.subject).to.contain("critical").and.contain("service app runs 0 of 2 replicas");

    const [alert] = await alerts();
    expect(alert).to.include({ status: "firing", subject: `${env.id}/app` });
  });

  it("resolves when the service is back to its replicas, to the webhook and by email, all audited", async () => {
    await docker("service", "scale", "--detach", `${swarmService()}=2`);
    const resolved = await until("the resolved webhook", async () => hook("alert.resolved"), 60_000, 200);
    const event = JSON.parse(resolved.body) as { data: AlertBody };
    expect(event.data.status).to.equal("resolved");
    expect(event.data.resolvedAt).to.be.a("string");
    await until("the resolved email", async () => smtp.mails.find((m) => m.subject.includes("RESOLVED")));
    const [alert, ...rest] = await alerts();
    expect(rest).to.deep.equal([]);
    expect(alert).to.include({ status: "resolved" });
    const audit = await world
      .db("audit_events")
      .where({ org_id: world.org.orgId, target_id: alert!.id })
      .orderBy("ts")
      .select("action", "actor_type");
    expect(audit).to.deep.equal([
      { action: "alert.fire", actor_type: "system" },
      { action: "alert.resolve", actor_type: "system" },
    ]);
    // Exactly one of each, however many evaluations ran meanwhile.
    expect(hooks.received.filter((r) => r.body.includes('"alert.firing"'))).to.have.length(1);
    expect(smtp.mails).to.have.length(2);
  });
});

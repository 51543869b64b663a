/**
 * Outbound notifications against the real parts: the gateway and every service, Postgres, a nats-server (the
 * events come from real changes through the integration publisher), and a local HTTP receiver that verifies the
 * signature as a customer's would, fails on demand, and records what it got.
 */
import { expect } from "chai";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { Db } from "../_shared/db.js";
import { createOrgWithAdmin, uniqueName, type TestOrg } from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import { freePort, type TestNatsServer } from "../_shared/testing/nats-server.js";
import type { TestPlatform } from "../_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";
import { until } from "../_shared/testing/wait.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from "./signature.js";

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Delivery {
  id: string;
  eventType: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  lastStatusCode: number | null;
  log: Array<{ attempt: number; statusCode: number | null; error: string | null }>;
}

const COMPOSE = "services:\n  web:\n    image: stackyard/busybox:test\n";

describe("notifications: signed webhooks with retries (real gateway, Postgres, nats-server, HTTP receiver)", function () {
  this.timeout(90_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;
  let receiver: Server;
  let port: number;
  const received: Received[] = [];
  /** Per path: how many more requests answer 500 before one answers 204. */
  const failuresLeft = new Map<string, number>();

  before(async () => {
    port = await freePort();
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const path = req.url ?? "/";
        received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
        const left = failuresLeft.get(path) ?? 0;
        if (left > 0) failuresLeft.set(path, left - 1);
        res.statusCode = left > 0 || path === "/always-down" ? 500 : 204;
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(port, "127.0.0.1", r));
    ({ db, nats, platform, api } = await startTestStack({
      STACKYARD_TEST_NOTIFY_ALLOW_HOSTS: `127.0.0.1:${port}`,
      NOTIFY_RETRY_BASE_MS: "200",
      NOTIFY_POLL_INTERVAL_MS: "100",
      NOTIFY_MAX_ATTEMPTS: "3",
    }));
    org = await createOrgWithAdmin(api);
  });
  after(async () => {
    await stopTestStack({ db, nats, platform });
    await new Promise((r) => receiver?.close(r));
  });

  const base = () => `/v1/orgs/${org.orgId}/notification-endpoints`;

  async function createEndpoint(body: Record<string, unknown>) {
    const res = await api.request<{ endpoint: { id: string }; signingSecret: string }>("POST", base(), {
      body: { name: uniqueName("ep"), ...body },
      headers: org.admin.auth,
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body;
  }

  async function createRelease(stackName = uniqueName("shop")) {
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: stackName },
      headers: org.admin.auth,
    });
    expect(stack.status, JSON.stringify(stack.body)).to.equal(201);
    const release = await api.request("POST", `/v1/stacks/${stack.body.id}/releases`, {
      body: { sourceType: "upload", composeYaml: COMPOSE },
      headers: org.admin.auth,
    });
    expect(release.status, JSON.stringify(release.body)).to.equal(201);
    return { stackId: stack.body.id, stackName };
  }

  async function deliveries(endpointId: string): Promise<Delivery[]> {
    const res = await api.get<{ items: Delivery[] }>(`${base()}/${endpointId}/deliveries`, org.admin.auth);
    expect(res.status).to.equal(200);
    return res.body.items;
  }

  it("POSTs a matching event, signed with the secret shown once, with the names a person reads", async () => {
    const { endpoint, signingSecret } = await createEndpoint({
      url: `http://127.0.0.1:${port}/hooks/json`,
      eventTypes: ["release.created"],
    });
    expect(signingSecret).to.match(/^whsec_/);
    const { stackId, stackName } = await createRelease();
    const got = await until("the signed delivery", async () =>
      received.find((r) => r.path === "/hooks/json" && r.body.includes(stackId)),
    );
    const timestamp = Number(got.headers[TIMESTAMP_HEADER]);
    expect(verifySignature(signingSecret, timestamp, got.body, String(got.headers[SIGNATURE_HEADER]))).to.equal(true);
    expect(verifySignature("whsec_wrong", timestamp, got.body, String(got.headers[SIGNATURE_HEADER]))).to.equal(false);
    const event = JSON.parse(got.body) as { type: string; orgId: string; names: { stackName: string } };
    expect(event.type).to.equal("release.created");
    expect(event.orgId).to.equal(org.orgId);
    expect(event.names.stackName).to.equal(stackName);
    const [delivery] = await until("the delivery recorded", async () => {
      const items = await deliveries(endpoint.id);
      return items[0]?.status === "delivered" ? items : undefined;
    });
    expect(delivery!.log.map((a) => a.statusCode)).to.deep.equal([204]);
    // The list never shows the secret again.
    const list = await api.get<{ items: Array<Record<string, unknown>> }>(base(), org.admin.auth);
    expect(JSON.stringify(list.body)).to.not.contain(signingSecret);
  });

  it("retries a receiver that answers 500, and the delivery log shows every attempt", async () => {
    failuresLeft.set("/hooks/flaky", 2);
    const { endpoint } = await createEndpoint({
      url: `http://127.0.0.1:${port}/hooks/flaky`,
      eventTypes: ["release.created"],
    });
    await createRelease();
    const [delivery] = await until(
      "the third attempt to succeed",
      async () => {
        const items = await deliveries(endpoint.id);
        return items[0]?.status === "delivered" ? items : undefined;
      },
      30_000,
    );
    expect(delivery!.attempts).to.equal(3);
    expect(delivery!.log.map((a) => a.statusCode)).to.deep.equal([500, 500, 204]);
    expect(delivery!.log[0]!.error).to.equal("HTTP 500");
  });

  it("gives up after the last attempt and marks the delivery failed", async () => {
    const { endpoint } = await createEndpoint({
      url: `http://127.0.0.1:${port}/always-down`,
      eventTypes: ["release.created"],
    });
    await createRelease();
    const [delivery] = await until(
      "the delivery to fail",
      async () => {
        const items = await deliveries(endpoint.id);
        return items[0]?.status === "failed" ? items : undefined;
      },
      30_000,
    );
    expect(delivery!.attempts).to.equal(3);
    expect(delivery!.lastStatusCode).to.equal(500);
  });

  it("sends a Slack-compatible text message, and a test event on request", async () => {
    const { endpoint } = await createEndpoint({
      url: `http://127.0.0.1:${port}/hooks/slack`,
      format: "slack",
      eventTypes: ["release.created"],
    });
    const { stackName } = await createRelease();
    const got = await until("the Slack message", async () =>
      received.find((r) => r.path === "/hooks/slack" && r.body.includes(stackName)),
    );
    expect(JSON.parse(got.body)).to.deep.equal({ text: `Release v1 created for stack ${stackName}` });
    const test = await api.request<Delivery>("POST", `${base()}/${endpoint.id}/test`, { headers: org.admin.auth });
    expect(test.status).to.equal(202);
    expect(test.body.eventType).to.equal("notification.test");
    await until("the test message", async () =>
      received.find((r) => r.path === "/hooks/slack" && r.body.includes("notification.test")),
    );
  });

  it("sends nothing for an event type the endpoint did not ask for, nor when disabled", async () => {
    const { endpoint } = await createEndpoint({
      url: `http://127.0.0.1:${port}/hooks/quiet`,
      eventTypes: ["deployment.failed"],
    });
    const off = await createEndpoint({
      url: `http://127.0.0.1:${port}/hooks/off`,
      eventTypes: ["release.created"],
      enabled: false,
    });
    const { stackId } = await createRelease();
    // A later endpoint that does match proves the event was published and processed meanwhile.
    await until("the event to reach the first endpoint", async () =>
      received.find((r) => r.path === "/hooks/json" && r.body.includes(stackId)),
    );
    expect(await deliveries(endpoint.id)).to.deep.equal([]);
    expect(await deliveries(off.endpoint.id)).to.deep.equal([]);
    expect(received.filter((r) => r.path === "/hooks/quiet" || r.path === "/hooks/off")).to.deep.equal([]);
  });

  it("refuses URLs the SSRF guard forbids and malformed ones with a code, writing nothing", async () => {
    const cases: Array<[string, string]> = [
      ["http://169.254.169.254/latest/meta-data", "NOTIFICATION_HOST_FORBIDDEN"],
      ["http://127.0.0.1:1/hook", "NOTIFICATION_HOST_FORBIDDEN"],
      ["http://10.1.2.3/hook", "NOTIFICATION_HOST_FORBIDDEN"],
      ["http://localhost:9/hook", "NOTIFICATION_HOST_FORBIDDEN"],
      ["ftp://example.com/hook", "NOTIFICATION_URL_INVALID"],
      ["http://user:pass@example.com/hook", "NOTIFICATION_URL_INVALID"],
      ["not a url", "NOTIFICATION_URL_INVALID"],
    ];
    const before = (await api.get<{ items: unknown[] }>(base(), org.admin.auth)).body.items.length;
    for (const [url, code] of cases) {
      const res = await api.request<{ error: { code: string } }>("POST", base(), {
        body: { name: uniqueName("bad"), url, eventTypes: ["deployment.failed"] },
        headers: org.admin.auth,
      });
      expect(res.status, url).to.equal(422);
      expect(res.body.error.code, url).to.equal(code);
    }
    expect((await api.get<{ items: unknown[] }>(base(), org.admin.auth)).body.items.length).to.equal(before);
  });

  it("audits changes with the host, never the URL's path (a Slack URL is a credential), and refuses a taken name", async () => {
    const name = uniqueName("audited");
    const { endpoint } = await createEndpoint({
      name,
      url: `http://127.0.0.1:${port}/services/T000/B000/secret-path-token`,
      eventTypes: ["release.created"],
    });
    const dup = await api.request<{ error: { code: string } }>("POST", base(), {
      body: { name, url: `http://127.0.0.1:${port}/x`, eventTypes: ["release.created"] },
      headers: org.admin.auth,
    });
    expect(dup.status).to.equal(409);
    expect(dup.body.error.code).to.equal("NOTIFICATION_ENDPOINT_NAME_TAKEN");
    const patched = await api.request<{ enabled: boolean }>("PATCH", `${base()}/${endpoint.id}`, {
      body: { enabled: false },
      headers: org.admin.auth,
    });
    expect(patched.status).to.equal(200);
    expect(patched.body.enabled).to.equal(false);
    const removed = await api.request("DELETE", `${base()}/${endpoint.id}`, { headers: org.admin.auth });
    expect(removed.status).to.equal(204);
    const audit = await db("audit_events").where({ org_id: org.orgId, target_id: endpoint.id }).orderBy("ts");
    expect(audit.map((a: { action: string }) => a.action)).to.deep.equal([
      "notification_endpoint.create",
      "notification_endpoint.update",
      "notification_endpoint.delete",
    ]);
    expect(JSON.stringify(audit)).to.not.contain("secret-path-token");
    expect((await api.get(`${base()}/${endpoint.id}/deliveries`, org.admin.auth)).status).to.equal(404);
  });
});

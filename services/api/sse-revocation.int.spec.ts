/**
 * Open deployment-event streams end when their credential dies: a logout closes the session's streams and a
 * revoked API token closes its own, within 5 s, on the real gateway, Postgres and NATS (a scripted agent keeps the
 * deployment RUNNING, so only the revocation can end the stream). Other callers' streams stay open.
 */
import { expect } from "chai";
import type { Db } from "../_shared/db.js";
import { startFakeAgent, type FakeAgent } from "../_shared/testing/fake-agent.js";
import { createOrgWithAdmin, loginAs, uniqueName, type TestOrg } from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import type { TestNatsServer } from "../_shared/testing/nats-server.js";
import type { TestPlatform } from "../_shared/testing/platform.js";
import { startTestStack, stopTestStack } from "../_shared/testing/stack.js";
import { until } from "../_shared/testing/wait.js";

const WITHIN_MS = 5_000;

interface OpenStream {
  /** Resolves with everything read when the server ends the stream. */
  ended: Promise<string>;
  abort(): void;
}

async function openStream(url: string, headers: Record<string, string>): Promise<OpenStream> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  expect(res.status).to.equal(200);
  const ended = (async () => {
    let text = "";
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk);
    } catch {
      // aborted by the test
    }
    return text;
  })();
  return { ended, abort: () => controller.abort() };
}

const endsWithin = <T>(p: Promise<T>, ms: number): Promise<T | "still open"> =>
  Promise.race([p, new Promise<"still open">((r) => setTimeout(() => r("still open"), ms))]);

describe("deployment event streams end on logout and token revocation (real gateway, Postgres, NATS)", function () {
  this.timeout(60_000);
  let nats: TestNatsServer;
  let platform: TestPlatform;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;
  let agent: FakeAgent;
  let deploymentId: string;
  const eventsUrl = () => `${platform.baseUrl}/v1/deployments/${deploymentId}/events`;

  before(async () => {
    ({ db, nats, platform, api } = await startTestStack());
    org = await createOrgWithAdmin(api);
    agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "sse");
    // Started, and never finished: only a revocation can end a stream of this deployment.
    agent.handlers.set("DeployStack", (command) => ({
      deploymentId: (command.payload as { deploymentId: string }).deploymentId,
      status: "started",
    }));
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("sse").replace(/[^a-z0-9-]/g, "") },
      headers: org.admin.auth,
    });
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
      body: { name: "prod", clusterId: agent.clusterId },
      headers: org.admin.auth,
    });
    const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
      body: { sourceType: "upload", composeYaml: "services:\n  app:\n    image: nginx:1.27\n" },
      headers: org.admin.auth,
    });
    const dep = await api.request<{ id: string }>("POST", `/v1/environments/${env.body.id}/deployments`, {
      body: { releaseId: release.body.id },
      headers: org.admin.auth,
    });
    deploymentId = dep.body.id;
    await until("the deployment to run", async () =>
      (await api.get<{ status: string }>(`/v1/deployments/${deploymentId}`, org.admin.auth)).body.status === "RUNNING"
        ? true
        : undefined,
    );
  });
  after(async () => {
    await agent?.close();
    await stopTestStack({ db, nats, platform });
  });

  it("a logout ends the session's open streams within 5 s; another session's stream stays open", async () => {
    const session = await loginAs(api, org.admin.email, org.orgId);
    const other = await loginAs(api, org.admin.email, org.orgId);
    const mine = await openStream(eventsUrl(), session.auth);
    const theirs = await openStream(eventsUrl(), other.auth);
    try {
      const out = await api.request("POST", "/v1/auth/logout", { headers: session.auth });
      expect(out.status).to.equal(204);
      const started = Date.now();
      const text = await endsWithin(mine.ended, WITHIN_MS);
      expect(text, "the logged-out session's stream").not.to.equal("still open");
      expect(Date.now() - started).to.be.below(WITHIN_MS);
      expect(text).to.contain("event: revoked");
      expect(await endsWithin(theirs.ended, 1_000)).to.equal("still open");
    } finally {
      mine.abort();
      theirs.abort();
    }
  });

  it("revoking an API token ends the streams it opened within 5 s", async () => {
    const created = await api.request<{ id: string; token: string }>("POST", `/v1/orgs/${org.orgId}/tokens`, {
      body: { name: "sse-reader", scopes: ["deployments:read"] },
      headers: org.admin.auth,
    });
    expect(created.status).to.equal(201);
    const stream = await openStream(eventsUrl(), { authorization: `Bearer ${created.body.token}` });
    try {
      const revoked = await api.request("DELETE", `/v1/orgs/${org.orgId}/tokens/${created.body.id}`, {
        headers: org.admin.auth,
      });
      expect(revoked.status).to.be.oneOf([200, 204]);
      const text = await endsWithin(stream.ended, WITHIN_MS);
      expect(text).not.to.equal("still open");
      expect(text).to.contain("event: revoked");
    } finally {
      stream.abort();
    }
  });
});

/**
 * One request id across the processes a deploy touches, against the real gateway, NATS and Postgres: the caller's
 * X-Request-Id (or a new one) comes back in the response header and in error bodies, is in the gateway's and the
 * worker's log lines for that request, and reaches the agent as the Stackyard-Request-Id header of its command.
 */
import { expect } from "chai";
import sinon from "sinon";
import type { DeployStack } from "../../nats/protocol/messages.js";
import { REQUEST_ID_HEADER, validRequestId } from "../../nats/protocol/request-id.js";
import { commandSubject } from "../../nats/protocol/subjects.js";
import { startFakeAgent, type FakeAgent } from "./testing/fake-agent.js";
import { createOrgWithAdmin, uniqueName, type TestOrg } from "./testing/fixtures.js";
import { startTestStack, stopTestStack, type TestStack } from "./testing/stack.js";
import { until } from "./testing/wait.js";

describe("request ids (real gateway, worker, NATS)", function () {
  this.timeout(60_000);
  let stack: Partial<TestStack> = {};
  let org: TestOrg;
  let agent: FakeAgent;
  let envId: string;
  let releaseId: string;
  const lines: string[] = [];
  const agentHeaders: Array<string | undefined> = [];
  const restore: Array<() => void> = [];

  before(async () => {
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      const stub = sinon.stub(console, method).callsFake((...args: unknown[]) => {
        lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      });
      restore.push(() => stub.restore());
    }
    stack = await startTestStack({ LOG_LEVEL: "info" });
    const api = stack.api!;
    org = await createOrgWithAdmin(api);
    agent = await startFakeAgent(api, stack.nats!.url, { orgId: org.orgId, auth: org.admin.auth }, "reqid");
    // The fake agent sees the raw NATS message: record the header of each DeployStack.
    agent.nc.subscribe(commandSubject(agent.clusterId, "DeployStack"), {
      callback: (_err, msg) => agentHeaders.push(msg.headers?.get(REQUEST_ID_HEADER)),
    });
    agent.handlers.set("DeployStack", (command) => {
      const p = command.payload as unknown as DeployStack;
      setTimeout(() => void agent.emit(p.deploymentId, p.firstSeq, "done", { outcome: "succeeded" }), 50);
      return { deploymentId: p.deploymentId, status: "started" };
    });
    const stackRes = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("reqid").replace(/[^a-z0-9-]/g, "") },
      headers: org.admin.auth,
    });
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stackRes.body.id}/environments`, {
      body: { name: "prod", clusterId: agent.clusterId },
      headers: org.admin.auth,
    });
    envId = env.body.id;
    const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stackRes.body.id}/releases`, {
      body: { sourceType: "upload", composeYaml: "services:\n  app:\n    image: nginx:1.27\n" },
      headers: org.admin.auth,
    });
    releaseId = release.body.id;
  });
  after(async () => {
    await agent?.close();
    await stopTestStack(stack);
    for (const r of restore) r();
  });

  const logLinesWith = (requestId: string) =>
    lines
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg: string; mod?: string; requestId?: string })
      .filter((l) => l.requestId === requestId);

  it("follows a deploy from the gateway through the worker to the agent's command", async () => {
    const requestId = `deploy-${Date.now()}`;
    const res = await fetch(`${stack.platform!.baseUrl}/v1/environments/${envId}/deployments`, {
      method: "POST",
      headers: { ...org.admin.auth, "content-type": "application/json", "x-request-id": requestId },
      body: JSON.stringify({ releaseId }),
    });
    expect(res.status).to.equal(202);
    expect(res.headers.get("x-request-id")).to.equal(requestId);
    await until("the worker's line", async () =>
      logLinesWith(requestId).some((l) => l.msg.includes("deploy job processed")) ? true : undefined,
    );
    const mine = logLinesWith(requestId);
    expect(mine.some((l) => l.mod === "api" && /POST \/v1\/environments\/.*\/deployments/.test(l.msg))).to.equal(true);
    expect(mine.some((l) => l.mod === "deploy-worker")).to.equal(true);
    expect(agentHeaders).to.include(requestId);
  });

  it("answers a new id when the caller sends none or a malformed one, and puts it in error bodies", async () => {
    const none = await fetch(`${stack.platform!.baseUrl}/v1/deployments/00000000-0000-4000-8000-000000000000`, {
      headers: org.admin.auth,
    });
    expect(none.status).to.equal(404);
    const generated = none.headers.get("x-request-id");
    expect(validRequestId(generated)).to.equal(generated);
    expect(((await none.json()) as { error: { requestId?: string } }).error.requestId).to.equal(generated);
    const bad = await fetch(`${stack.platform!.baseUrl}/v1/auth/me`, {
      headers: { ...org.admin.auth, "x-request-id": "no spaces or <tags> allowed" },
    });
    expect(bad.status).to.equal(200);
    expect(bad.headers.get("x-request-id")).to.match(/^[0-9a-f-]{36}$/);
  });
});

/**
 * The exec WebSocket against the real gateway, Postgres and nats-server, with a scripted agent that holds real
 * agent credentials (so the session's subjects pass the real NATS permissions): the bytes both ways, a task on
 * another node (409 naming it), refusals audited, another org's environment absent, and a revoked session closed.
 */
import { expect } from "chai";
import type { Subscription } from "nats";
import WebSocket from "ws";
import type { Db } from "../_shared/db.js";
import { startFakeAgent, type FakeAgent } from "../_shared/testing/fake-agent.js";
import { createOrgWithAdmin, createUserWithRole, uniqueName, type TestOrg } from "../_shared/testing/fixtures.js";
import type { ContractClient } from "../_shared/testing/http.js";
import { startTestStack, stopTestStack, type TestStack } from "../_shared/testing/stack.js";
import { until } from "../_shared/testing/wait.js";
import {
  decodeExecInput,
  encodeExecMessage,
  type StartExec,
  type StartExecResult,
} from "../../nats/protocol/commands/index.js";
import { agentSubjects, execInputSubject } from "../../nats/protocol/subjects.js";

interface Outcome {
  status: number;
  refusal: { error?: { code: string; details?: Record<string, unknown> } } | null;
  events: Array<Record<string, unknown>>;
  output: string;
  closeCode: number | null;
}

function openExec(url: string, headers: Record<string, string>, onStarted?: (ws: WebSocket) => void) {
  return new Promise<Outcome>((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const outcome: Outcome = { status: 101, refusal: null, events: [], output: "", closeCode: null };
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => {
        outcome.status = res.statusCode ?? 0;
        outcome.refusal = body ? (JSON.parse(body) as Outcome["refusal"]) : null;
        resolve(outcome);
      });
    });
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) return void (outcome.output += data.toString());
      const event = JSON.parse(data.toString()) as Record<string, unknown>;
      outcome.events.push(event);
      if (event.type === "started") onStarted?.(ws);
    });
    ws.on("close", (code) => {
      outcome.closeCode = code;
      resolve(outcome);
    });
    ws.on("error", (err) => outcome.status === 101 && reject(err));
  });
}

describe("exec WebSocket (real gateway, Postgres, NATS; scripted agent with real credentials)", function () {
  this.timeout(60_000);
  let stack: TestStack;
  let db: Db;
  let api: ContractClient;
  let org: TestOrg;
  let agent: FakeAgent;
  let envId: string;
  /** What the scripted agent does with a StartExec. */
  let onStart: (p: StartExec) => StartExecResult;
  const inputs: Subscription[] = [];
  const url = (task = "task1") =>
    `${stack.platform.baseUrl.replace(/^http/, "ws")}/v1/environments/${envId}/services/app/tasks/${task}/exec`;
  const result = (p: StartExec, over: Partial<StartExecResult> = {}): StartExecResult => ({
    sessionId: p.sessionId,
    service: `${p.stackName}_app`,
    taskId: p.taskId,
    nodeId: "n1",
    nodeHostname: "manager-1",
    started: true,
    containerId: "c0ffee",
    ...over,
  });
  /** An agent side that echoes keystrokes as output and exits 7 on "exit". */
  const echoSession = (p: StartExec) => {
    const out = agentSubjects(agent.clusterId).execOutput(p.sessionId);
    const sub = agent.nc.subscribe(execInputSubject(agent.clusterId, p.sessionId), {
      callback: (_err, msg) => {
        const input = decodeExecInput(msg.data);
        if (input?.type !== "stdin") return;
        const text = Buffer.from(input.data, "base64").toString();
        agent.nc.publish(
          out,
          encodeExecMessage({ type: "data", data: Buffer.from(`echo:${text}`).toString("base64") }),
        );
        if (text.includes("exit")) {
          agent.nc.publish(out, encodeExecMessage({ type: "end", reason: "exited", exitCode: 7, message: null }));
        }
      },
    });
    inputs.push(sub);
    return result(p);
  };

  before(async () => {
    stack = await startTestStack();
    ({ db, api } = stack);
    org = await createOrgWithAdmin(api);
    agent = await startFakeAgent(api, stack.nats.url, { orgId: org.orgId, auth: org.admin.auth }, "exec-fake");
    agent.handlers.set("StartExec", (command) => ({ ...onStart(command.payload as unknown as StartExec) }));
    const created = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: uniqueName("ex").replace(/[^a-z0-9-]/g, "") },
      headers: org.admin.auth,
    });
    const env = await api.request<{ id: string }>("POST", `/v1/stacks/${created.body.id}/environments`, {
      body: { name: "prod", clusterId: agent.clusterId },
      headers: org.admin.auth,
    });
    envId = env.body.id;
  });
  after(async () => {
    inputs.forEach((s) => s.unsubscribe());
    await agent?.close();
    await stopTestStack(stack);
  });

  it("carries keystrokes to the agent's input subject and its output back, then the exit code", async () => {
    onStart = echoSession;
    const outcome = await openExec(url(), org.admin.auth, (ws) => {
      ws.send("ls\n");
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("exit\n")]));
    });
    expect(outcome.status).to.equal(101);
    expect(outcome.events[0]).to.deep.include({
      type: "started",
      taskId: "task1",
      nodeId: "n1",
      containerId: "c0ffee",
    });
    expect(outcome.output).to.equal("echo:ls\necho:exit\n");
    expect(outcome.events.at(-1)).to.deep.equal({ type: "exit", reason: "exited", exitCode: 7, message: null });
    expect(outcome.closeCode).to.equal(1000);
    const command = agent.received.filter((c) => c.type === "StartExec").at(-1)!.payload as unknown as StartExec;
    expect(command).to.deep.include({ service: "app", taskId: "task1", command: ["/bin/sh"], cols: 80, rows: 24 });
  });

  it("refuses a task on another node with 409 TASK_ON_OTHER_NODE naming the node, audited as refused", async () => {
    onStart = (p) => result(p, { started: false, nodeId: "w7", nodeHostname: "worker-7", containerId: null });
    const outcome = await openExec(url("task2"), org.admin.auth);
    expect(outcome.status).to.equal(409);
    expect(outcome.refusal?.error?.code).to.equal("TASK_ON_OTHER_NODE");
    expect(outcome.refusal?.error?.details).to.deep.equal({ nodeId: "w7", nodeHostname: "worker-7" });
    const rows = await db("audit_events").where({ org_id: org.orgId, action: "exec.start" });
    expect(
      rows.find((r: { data_json: { taskId: string } }) => r.data_json.taskId === "task2")?.data_json,
    ).to.deep.include({ taskId: "task2", outcome: "refused", code: "TASK_ON_OTHER_NODE" });
  });

  it("answers a viewer 403 (audited as request.denied) and another org's admin 404, without asking the agent", async () => {
    const before = agent.received.length;
    const viewer = await createUserWithRole(api, org, "VIEWER");
    const denied = await openExec(url(), viewer.auth);
    expect(denied.status).to.equal(403);
    const other = await createOrgWithAdmin(api);
    const foreign = await openExec(url(), other.admin.auth);
    expect(foreign.status).to.equal(404);
    expect(agent.received.length).to.equal(before);
    const row = await until(
      "the refusal's audit row",
      async () =>
        (await db("audit_events").where({ org_id: org.orgId, action: "request.denied", actor_id: viewer.userId }))[0],
    );
    expect(row.target_id).to.equal("execTask");
  });

  it("closes an open session with 1008 when its credential is revoked, and tells the agent", async () => {
    let closed = false;
    onStart = (p) => {
      const sub = agent.nc.subscribe(execInputSubject(agent.clusterId, p.sessionId), {
        callback: (_err, msg) => {
          if (decodeExecInput(msg.data)?.type === "close") closed = true;
        },
      });
      inputs.push(sub);
      return result(p);
    };
    const user = await createUserWithRole(api, org, "CLUSTER_ADMIN");
    const outcome = await openExec(url(), user.auth, () => {
      void api.request("POST", "/v1/auth/logout", { body: { refreshToken: user.refreshToken }, headers: user.auth });
    });
    expect(outcome.closeCode).to.equal(1008);
    expect(outcome.events.at(-1)).to.deep.include({ type: "exit", reason: "revoked" });
    await until("the agent told to close", async () => (closed ? true : undefined));
    const end = await until(
      "the end row",
      async () => (await db("audit_events").where({ org_id: org.orgId, action: "exec.end", actor_id: user.userId }))[0],
    );
    expect(end.data_json).to.deep.include({ reason: "revoked" });
  });
});

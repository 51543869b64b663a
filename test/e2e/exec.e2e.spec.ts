/**
 * Exec into a running task, end to end on the real single-node Swarm (real control plane, real agent, real
 * dockerd): the WebSocket route runs `echo hello; exit 3` in the task's container and the client sees `hello` and
 * exit code 3; the session is audited at its start (who, task, command) and its end (exit code, transcript).
 * Exec is its own permission: a viewer and an app admin (who may deploy) are refused 403 before any WebSocket;
 * a plain GET is 426, a foreign Origin 403, an unknown task 404.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { createUserWithRole } from "../../services/_shared/testing/fixtures.js";
import { testStackCompose as compose } from "../../services/_shared/testing/swarm.js";
import { startSwarmWorld, type SwarmWorld, type WorldEnvironment } from "../../services/_shared/testing/swarm-world.js";
import { until } from "../../services/_shared/testing/wait.js";

interface ExecOutcome {
  /** The HTTP status of a refused upgrade, 101 when it was accepted. */
  status: number;
  refusal: { error?: { code: string; message: string; details?: unknown } } | null;
  events: Array<Record<string, unknown>>;
  output: string;
  closeCode: number | null;
}

/** Opens the exec WebSocket, sends `input` once it started, and resolves when the server closes or refuses. */
function runExec(url: string, headers: Record<string, string>, input: string | null): Promise<ExecOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ["stackyard.exec.v1"], { headers });
    const outcome: ExecOutcome = { status: 101, refusal: null, events: [], output: "", closeCode: null };
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => {
        outcome.status = res.statusCode ?? 0;
        outcome.refusal = body ? (JSON.parse(body) as ExecOutcome["refusal"]) : null;
        resolve(outcome);
      });
    });
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        outcome.output += data.toString("utf8");
        return;
      }
      const event = JSON.parse(data.toString("utf8")) as Record<string, unknown>;
      outcome.events.push(event);
      if (event.type === "started" && input !== null) ws.send(input);
    });
    ws.on("close", (code) => {
      outcome.closeCode = code;
      resolve(outcome);
    });
    ws.on("error", (err) => {
      if (outcome.status === 101) reject(err);
    });
  });
}

interface StatusBody {
  services: Array<{ name: string; tasks: Array<{ id: string; state: string; desiredState: string }> }>;
}

describe("exec into a running task (real agent, real control plane, real Swarm)", function () {
  this.timeout(150_000);
  let world: SwarmWorld;
  let env: WorldEnvironment;
  let taskId: string;
  const execUrl = (task: string, query = "") =>
    `${world.platform.baseUrl.replace(/^http/, "ws")}/v1/environments/${env.id}/services/app/tasks/${task}/exec${query}`;

  before(async function () {
    this.timeout(240_000);
    world = await startSwarmWorld({ clusterName: "exec-swarm" });
    const stackId = await world.createStack(`exec${randomBytes(3).toString("hex")}`);
    env = await world.createEnvironment(stackId, "prod");
    const v1 = await world.uploadRelease(stackId, compose({ command: ["sleep", "3600"], replicas: 1 }));
    await world.deploy(env, v1);
    taskId = await until("a running task", async () => {
      const res = await world.api.request<StatusBody>("GET", `/v1/environments/${env.id}/status`, {
        headers: world.auth(),
      });
      const app = res.body.services.find((s) => s.name === "app");
      return app?.tasks.find((t) => t.state === "running" && t.desiredState === "running")?.id;
    });
  });
  after(async function () {
    this.timeout(120_000);
    await world?.stop();
  });

  it("runs `echo hello; exit 3` in the task's container: the client sees hello and exit code 3, audited", async () => {
    const result = await runExec(execUrl(taskId), world.auth(), "echo hello; exit 3\n");
    expect(result.status, JSON.stringify(result.refusal)).to.equal(101);
    expect(result.events[0]).to.deep.include({ type: "started", taskId });
    expect(result.output).to.match(/(^|\n)hello\r?\n/);
    expect(result.events.at(-1)).to.deep.equal({ type: "exit", reason: "exited", exitCode: 3, message: null });
    expect(result.closeCode).to.equal(1000);

    const rows = await until("both audit rows", async () => {
      const found = await world
        .db("audit_events")
        .where({ org_id: world.org.orgId })
        .whereIn("action", ["exec.start", "exec.end"])
        .orderBy("ts");
      return found.length === 2 ? found : undefined;
    });
    expect(rows.map((r: { action: string }) => r.action)).to.deep.equal(["exec.start", "exec.end"]);
    expect(rows[0].actor_id).to.equal(world.org.admin.userId);
    expect(rows[0].target_id).to.equal(env.id);
    expect(rows[0].data_json).to.deep.include({ service: "app", taskId, command: ["/bin/sh"], outcome: "started" });
    expect(rows[1].data_json).to.deep.include({ taskId, reason: "exited", exitCode: 3 });
    const transcript = rows[1].data_json.transcript as { input: string; output: string; truncated: boolean };
    expect(transcript.input).to.equal("echo hello; exit 3\n");
    expect(transcript.output).to.contain("hello");
    expect(transcript.truncated).to.equal(false);
  });

  it("runs the command given as argument vector, resizes the TTY, and ends on the client's close", async () => {
    const script = encodeURIComponent("read x; stty size; read y; stty size; sleep 600");
    const ws = new WebSocket(execUrl(taskId, `?command=/bin/sh&command=-c&command=${script}&cols=90&rows=20`), {
      headers: world.auth(),
    });
    let output = "";
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) output += data.toString();
    });
    ws.on("open", () => ws.send("\n"));
    await until("the TTY size printed", async () => (/20 90/.test(output) ? true : undefined));
    ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify({ cols: 100, rows: 30 }))]));
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("\n")]));
    await until("the new TTY size printed", async () => (/30 100/.test(output) ? true : undefined));
    ws.close();
    const end = await until("the end row of the closed session", async () => {
      const rows = await world.db("audit_events").where({ org_id: world.org.orgId, action: "exec.end" }).orderBy("ts");
      return rows.length === 2 ? (rows[1] as { data_json: Record<string, unknown> }) : undefined;
    });
    expect(end.data_json).to.deep.include({ reason: "closed", exitCode: null });
  });

  it("refuses exec to callers without exec:write (a viewer, an app admin who may deploy) with 403", async () => {
    for (const role of ["VIEWER", "APP_ADMIN"] as const) {
      const user = await createUserWithRole(world.api, world.org, role);
      const result = await runExec(execUrl(taskId), user.auth, "echo nope\n");
      expect(result.status, role).to.equal(403);
      expect(result.refusal?.error?.code).to.equal("PERMISSION_DENIED");
    }
    const cluster = await createUserWithRole(world.api, world.org, "CLUSTER_ADMIN");
    const allowed = await runExec(execUrl(taskId), cluster.auth, "exit 0\n");
    expect(allowed.events.at(-1)).to.deep.include({ type: "exit", exitCode: 0 });
  });

  it("answers a plain GET 426, a foreign Origin 403, an unknown task 404 and a bad command 400", async () => {
    const plain = await fetch(execUrl(taskId).replace(/^ws/, "http"), { headers: world.auth() });
    expect(plain.status).to.equal(426);
    expect(((await plain.json()) as { error: { code: string } }).error.code).to.equal("UPGRADE_REQUIRED");
    const foreign = await runExec(execUrl(taskId), { ...world.auth(), Origin: "https://evil.example" }, null);
    expect(foreign.status).to.equal(403);
    expect(foreign.refusal?.error?.code).to.equal("FOREIGN_ORIGIN");
    const unknown = await runExec(execUrl("nosuchtask0000000000000000"), world.auth(), null);
    expect(unknown.status).to.equal(404);
    expect(unknown.refusal?.error?.code).to.equal("TASK_NOT_FOUND");
    const bad = await runExec(execUrl(taskId, "?cols=0"), world.auth(), null);
    expect(bad.status).to.equal(400);
    const anonymous = await runExec(execUrl(taskId), {}, null);
    expect(anonymous.status).to.equal(401);
  });
});

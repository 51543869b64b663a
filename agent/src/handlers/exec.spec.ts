import { expect } from "chai";
import type { ExecOutputMessage, StartExec } from "../../../nats/protocol/commands/index.js";
import { encodeExecMessage } from "../../../nats/protocol/commands/index.js";
import type { CommandContext } from "../commands.js";
import { FakeEngine, fakeService } from "../deploy/testing/fake-engine.js";
import type { RolloutService } from "../deploy/types.js";
import type { ExecProcess, ExecTaskTarget, TaskExecer } from "../docker/engine.js";
import { ExecSessionManager, type ExecLimits } from "./exec.js";

const ctx = {} as CommandContext;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class StackEngine extends FakeEngine {
  services: RolloutService[] = [
    fakeService({ id: "svc1", name: "st_app", stack: "st" }),
    fakeService({ id: "svc2", name: "st_db", stack: "st" }),
  ];
  override async listServices(filter?: { stack?: string }): Promise<RolloutService[]> {
    return this.services.filter((s) => !filter?.stack || s.stack === filter.stack);
  }
}

/** A process the test drives: what it was sent, and output and exit on demand. */
class FakeProcess implements ExecProcess {
  written: string[] = [];
  sizes: Array<[number, number]> = [];
  hungUp = false;
  private listener: (chunk: Buffer) => void = () => undefined;
  private exit: (code: number | null) => void = () => undefined;
  readonly exited = new Promise<number | null>((resolve) => (this.exit = resolve));
  onData(listener: (chunk: Buffer) => void) {
    this.listener = listener;
  }
  write(data: Buffer) {
    this.written.push(data.toString());
  }
  async resize(cols: number, rows: number) {
    this.sizes.push([cols, rows]);
  }
  hangUp() {
    this.hungUp = true;
    this.exit(null);
  }
  output(text: string | Buffer) {
    this.listener(Buffer.isBuffer(text) ? text : Buffer.from(text));
  }
  finish(code: number) {
    this.exit(code);
  }
}

class FakeExecer implements TaskExecer {
  tasks = new Map<string, ExecTaskTarget>([
    ["t1", { id: "t1", serviceId: "svc1", nodeId: "n-local", nodeHostname: "m1", state: "running", containerId: "c1" }],
    ["t2", { id: "t2", serviceId: "svc1", nodeId: "n-other", nodeHostname: "w1", state: "running", containerId: "c2" }],
    [
      "t3",
      { id: "t3", serviceId: "svc1", nodeId: "n-local", nodeHostname: "m1", state: "shutdown", containerId: "c3" },
    ],
    ["t4", { id: "t4", serviceId: "svc2", nodeId: "n-local", nodeHostname: "m1", state: "running", containerId: "c4" }],
  ]);
  execs: Array<{ containerId: string; command: string[]; cols: number; rows: number; proc: FakeProcess }> = [];
  async localNodeId() {
    return "n-local";
  }
  async inspectTask(taskId: string) {
    return this.tasks.get(taskId) ?? null;
  }
  async exec(containerId: string, opts: { command: string[]; cols: number; rows: number }) {
    const proc = new FakeProcess();
    this.execs.push({ containerId, ...opts, proc });
    return proc;
  }
}

function setup(limits: Partial<ExecLimits> = {}) {
  const engine = new StackEngine();
  const execer = new FakeExecer();
  const published: Array<{ subject: string; message: ExecOutputMessage }> = [];
  const listeners = new Map<string, (data: Uint8Array) => void>();
  const failures = new Map<string, (err: Error) => void>();
  let now = 1_000_000;
  const agent = new AbortController();
  const manager = new ExecSessionManager({
    engine,
    execer,
    outputSubject: (id) => `agent.c1.exec.${id}`,
    inputSubject: (id) => `exec-in.c1.${id}`,
    publish: (subject, data) =>
      published.push({ subject, message: JSON.parse(new TextDecoder().decode(data)) as ExecOutputMessage }),
    listen: (subject, onMessage, onError) => {
      listeners.set(subject, onMessage);
      failures.set(subject, onError);
      return { unsubscribe: () => listeners.delete(subject) };
    },
    now: () => now,
    signal: agent.signal,
    limits: { checkMs: 5, ...limits },
  });
  const start = (over: Partial<StartExec> = {}) =>
    manager.handlers().StartExec!(
      {
        sessionId: "s1",
        stackName: "st",
        service: "app",
        taskId: "t1",
        command: ["/bin/sh"],
        cols: 100,
        rows: 30,
        idleSeconds: 60,
        maxSeconds: 600,
        leaseSeconds: 30,
        ...over,
      },
      ctx,
    );
  const input = (sessionId: string, message: Parameters<typeof encodeExecMessage>[0]) =>
    listeners.get(`exec-in.c1.${sessionId}`)?.(encodeExecMessage(message));
  const output = () =>
    published
      .flatMap((p) => (p.message.type === "data" ? [Buffer.from(p.message.data, "base64").toString()] : []))
      .join("");
  const ends = () => published.flatMap((p) => (p.message.type === "end" ? [p.message] : []));
  return {
    execer,
    manager,
    start,
    input,
    output,
    ends,
    listeners,
    failures,
    published,
    agent,
    advance: (ms: number) => (now += ms),
  };
}

describe("agent exec sessions (StartExec)", () => {
  it("runs the command in the task's container: output out, keystrokes and resizes in, the exit code at the end", async () => {
    const t = setup();
    const result = await t.start();
    expect(result).to.deep.equal({
      sessionId: "s1",
      service: "st_app",
      taskId: "t1",
      nodeId: "n-local",
      nodeHostname: "m1",
      started: true,
      containerId: "c1",
    });
    const { proc, ...call } = t.execer.execs[0]!;
    expect(call).to.deep.equal({ containerId: "c1", command: ["/bin/sh"], cols: 100, rows: 30 });
    t.input("s1", { type: "stdin", data: Buffer.from("echo hello; exit 3\n").toString("base64") });
    t.input("s1", { type: "resize", cols: 120, rows: 40 });
    t.listeners.get("exec-in.c1.s1")?.(new TextEncoder().encode("{not json"));
    await sleep(5);
    expect(proc.written).to.deep.equal(["echo hello; exit 3\n"]);
    expect(proc.sizes).to.deep.equal([[120, 40]]);
    proc.output("hello\r\n");
    proc.finish(3);
    await sleep(10);
    expect(t.output()).to.equal("hello\r\n");
    expect(t.ends()).to.deep.equal([{ type: "end", reason: "exited", exitCode: 3, message: null }]);
    expect(t.published.every((p) => p.subject === "agent.c1.exec.s1")).to.equal(true);
    expect(t.manager.size).to.equal(0);
    expect(t.listeners.size, "the input subscription is gone").to.equal(0);
  });

  it("splits large output into chunks of at most 32 KiB", async () => {
    const t = setup();
    await t.start();
    t.execer.execs[0]!.proc.output(Buffer.alloc(70 * 1024, "x"));
    const chunks = t.published.filter((p) => p.message.type === "data");
    expect(chunks).to.have.length(3);
    expect(t.output()).to.have.length(70 * 1024);
    t.manager.stopAll("closed");
  });

  it("starts nothing for a task on another node and says where it runs", async () => {
    const t = setup();
    const result = await t.start({ taskId: "t2" });
    expect(result).to.deep.include({ started: false, nodeId: "n-other", nodeHostname: "w1", containerId: null });
    expect(t.execer.execs).to.have.length(0);
    expect(t.manager.size).to.equal(0);
  });

  it("refuses a task of another service, an unknown task, a stopped task and an unknown service with codes", async () => {
    const t = setup();
    for (const [over, code] of [
      [{ taskId: "t4" }, "TASK_NOT_FOUND"],
      [{ taskId: "nope" }, "TASK_NOT_FOUND"],
      [{ taskId: "t3" }, "TASK_NOT_RUNNING"],
      [{ service: "cache" }, "SERVICE_NOT_FOUND"],
    ] as const) {
      const err = (await t.start(over).catch((e: unknown) => e)) as { code?: string };
      expect(err.code, JSON.stringify(over)).to.equal(code);
    }
    expect(t.execer.execs).to.have.length(0);
  });

  it("bounds sessions per agent and refuses a second session with the same id", async () => {
    const t = setup({ maxSessions: 2 });
    await t.start({ sessionId: "s1" });
    expect(((await t.start({ sessionId: "s1" }).catch((e: unknown) => e)) as { code: string }).code).to.equal(
      "EXEC_SESSION_EXISTS",
    );
    await t.start({ sessionId: "s2" });
    expect(((await t.start({ sessionId: "s3" }).catch((e: unknown) => e)) as { code: string }).code).to.equal(
      "TOO_MANY_EXEC_SESSIONS",
    );
    t.manager.stopAll("closed");
  });

  it("ends a session on close, idle time, lost lease, maximum length and agent stop, hanging up its terminal", async () => {
    const t = setup();
    await t.start({ sessionId: "closed" });
    t.input("closed", { type: "close" });

    await t.start({ sessionId: "idle", idleSeconds: 60, leaseSeconds: 120, maxSeconds: 600 });
    t.advance(50_000);
    t.input("idle", { type: "ping" }); // a ping keeps the lease, not the idle clock
    t.advance(11_000);
    await sleep(20);

    await t.start({ sessionId: "lease", idleSeconds: 600, leaseSeconds: 30, maxSeconds: 600 });
    t.advance(31_000);
    await sleep(20);

    await t.start({ sessionId: "max", idleSeconds: 600, leaseSeconds: 120, maxSeconds: 60 });
    for (let i = 0; i < 7; i++) {
      t.advance(10_000);
      t.input("max", { type: "stdin", data: Buffer.from("x").toString("base64") });
    }
    await sleep(20);

    await t.start({ sessionId: "agent" });
    t.agent.abort();

    const reasons = t.published.flatMap((p) =>
      p.message.type === "end" ? [`${p.subject.split(".").pop()}:${p.message.reason}`] : [],
    );
    expect(reasons).to.deep.equal([
      "closed:closed",
      "idle:idle_timeout",
      "lease:lease_expired",
      "max:max_duration",
      "agent:agent_stopping",
    ]);
    expect(t.execer.execs.every((e) => e.proc.hungUp)).to.equal(true);
    expect(t.manager.size).to.equal(0);
  });

  it("ends a session whose input subscription the server refuses (credentials from before exec), saying why", async () => {
    const t = setup();
    await t.start();
    t.failures.get("exec-in.c1.s1")?.(new Error("Permissions Violation for Subscription"));
    expect(t.ends()[0]).to.deep.include({ reason: "error", exitCode: null });
    expect(t.ends()[0]!.message).to.contain("next credential renewal");
    expect(t.execer.execs[0]!.proc.hungUp).to.equal(true);
  });
});

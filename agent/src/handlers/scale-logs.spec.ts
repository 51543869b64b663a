import { expect } from "chai";
import { createCommandSigningKey, signCommand } from "../../../nats/protocol/envelope.js";
import type { CommandEnvelope, LogLine } from "../../../nats/protocol/messages.js";
import type { CommandContext } from "../commands.js";
import { FakeEngine, fakeService, fakeTask } from "../deploy/testing/fake-engine.js";
import type { RolloutService, StackSnapshot } from "../deploy/types.js";
import { createLogger } from "../logger.js";
import { createLogsHandler, newestWithin } from "./logs.js";
import { SCALE_REPLY_MARGIN_MS, createScaleHandler } from "./scale.js";

const log = createLogger({ level: "error", write: () => undefined });
const cp = createCommandSigningKey();
const NOW = 1_700_000_000_000;

type LogOptions = { tail: number; since?: number; maxBytes: number };

/** listServices follows the scripted snapshots too, so "before" and "after" the scale can differ. */
class ScriptedEngine extends FakeEngine {
  logCalls: Array<{ serviceId: string; opts: LogOptions }> = [];
  override async listServices(filter?: { stack?: string }): Promise<RolloutService[]> {
    const snap = this.snapshots[Math.min(this.inspectCalls, this.snapshots.length - 1)];
    return (snap?.services ?? []).filter((s) => !filter?.stack || s.stack === filter.stack);
  }
  // Defaults only to match FakeEngine's parameterless signature; the handler always passes both.
  override async serviceLogs(serviceId = "", opts: LogOptions = { tail: 0, maxBytes: 0 }) {
    this.logCalls.push({ serviceId, opts });
    return this.logLines;
  }
}

function context(
  type: "ScaleService" | "GetLogs",
  payload: unknown,
  opts: { ttlMs?: number; signal?: AbortSignal } = {},
) {
  const command: CommandEnvelope = signCommand(cp.seed, {
    type,
    orgId: "o1",
    clusterId: "c1",
    payload: payload as never,
    issuedAt: NOW,
    ...(opts.ttlMs ? { ttlMs: opts.ttlMs } : {}),
  });
  const ctx: CommandContext = { command, log, signal: opts.signal ?? new AbortController().signal };
  return ctx;
}

const web = (desired: number) => fakeService({ id: "svc-web", name: "st_web", desiredReplicas: desired });
const running = (n: number) => Array.from({ length: n }, () => fakeTask({ serviceId: "svc-web" }));

describe("ScaleService handler", () => {
  it("scales, waits for the new count and answers with the previous and new replicas", async () => {
    const engine = new ScriptedEngine();
    const before: StackSnapshot = { services: [web(2)], tasks: running(2) };
    engine.snapshots = [before, before, { services: [web(3)], tasks: running(3) }];
    const handler = createScaleHandler(engine, { now: () => NOW, pollIntervalMs: 2, stabilizationMs: 0 });
    const payload = { stackName: "st", service: "web", replicas: 3 };
    const result = await handler(payload, context("ScaleService", payload, { ttlMs: 120_000 }));
    expect(result).to.deep.equal({ service: "st_web", previousReplicas: 2, replicas: 3 });
    expect(engine.scaleCalls).to.deep.equal([{ serviceId: "svc-web", replicas: 3 }]);
  });

  it("rejects an unknown service with SERVICE_NOT_FOUND before changing anything", async () => {
    const engine = new ScriptedEngine();
    engine.snapshots = [{ services: [web(2)], tasks: running(2) }];
    const payload = { stackName: "st", service: "api", replicas: 3 };
    const handler = createScaleHandler(engine, { now: () => NOW });
    const err = await handler(payload, context("ScaleService", payload)).catch((e: unknown) => e);
    expect(err).to.include({ code: "SERVICE_NOT_FOUND" });
    expect(engine.scaleCalls).to.deep.equal([]);
  });

  it("refuses with DEADLINE_PASSED, changing nothing, when too little of the command's lifetime is left", async () => {
    const engine = new ScriptedEngine();
    engine.snapshots = [{ services: [web(2)], tasks: running(2) }];
    const payload = { stackName: "st", service: "web", replicas: 3 };
    // Received (or reached) with less than the reply margin left: the sender is about to report "not done".
    const handler = createScaleHandler(engine, { now: () => NOW + 120_000 - SCALE_REPLY_MARGIN_MS + 500 });
    const err = await handler(payload, context("ScaleService", payload, { ttlMs: 120_000 })).catch((e: unknown) => e);
    expect(err).to.include({ code: "DEADLINE_PASSED" });
    expect(engine.scaleCalls, "the late command changes nothing").to.deep.equal([]);
  });

  it("refuses with STACK_BUSY while a deployment of the stack runs on this agent", async () => {
    const engine = new ScriptedEngine();
    engine.snapshots = [{ services: [web(2)], tasks: running(2) }];
    const payload = { stackName: "st", service: "web", replicas: 3 };
    const handler = createScaleHandler(engine, {
      now: () => NOW,
      runningDeployment: (stack) => (stack === "st" ? "dep-1" : undefined),
    });
    const err = await handler(payload, context("ScaleService", payload, { ttlMs: 120_000 })).catch((e: unknown) => e);
    expect(err).to.include({ code: "STACK_BUSY" });
    expect((err as Error).message).to.include("dep-1");
    expect(engine.scaleCalls).to.deep.equal([]);
  });

  it("gives up with SCALE_TIMED_OUT before the command expires", async function () {
    this.timeout(10_000);
    const engine = new ScriptedEngine();
    engine.snapshots = [
      { services: [web(2)], tasks: running(2) },
      { services: [web(5)], tasks: running(2) },
    ];
    const payload = { stackName: "st", service: "web", replicas: 5 };
    let now = NOW;
    const handler = createScaleHandler(engine, { now: () => now, pollIntervalMs: 5 });
    // One second of wait left before the reply margin: the handler must not wait the default 110 s.
    const ctx = context("ScaleService", payload, { ttlMs: SCALE_REPLY_MARGIN_MS + 1_000 });
    now = NOW;
    const started = Date.now();
    const err = (await handler(payload, ctx).catch((e: unknown) => e)) as { code: string; message: string };
    expect(Date.now() - started).to.be.lessThan(3_000);
    expect(err.code).to.equal("SCALE_TIMED_OUT");
    expect(err.message).to.match(/^st_web was set to 5 replicas but did not converge: timed out after 1s/);
  });

  it("fails with SCALE_FAILED and the task error when new tasks keep crashing", async () => {
    const engine = new ScriptedEngine();
    const crash = (n: number) =>
      fakeTask({
        serviceId: "svc-web",
        state: "failed",
        desiredState: "shutdown",
        error: "task: non-zero exit (1)",
        exitCode: 1,
        timestamp: `2026-01-01T00:03:0${n}Z`,
      });
    const [f1, f2, f3] = [crash(1), crash(2), crash(3)];
    const base = running(1);
    engine.snapshots = [
      { services: [web(1)], tasks: base },
      { services: [web(2)], tasks: base },
      { services: [web(2)], tasks: [...base, f1!] },
      { services: [web(2)], tasks: [...base, f1!, f2!] },
      { services: [web(2)], tasks: [...base, f1!, f2!, f3!] },
    ];
    const payload = { stackName: "st", service: "web", replicas: 2 };
    const handler = createScaleHandler(engine, { now: () => NOW, pollIntervalMs: 2, stabilizationMs: 0 });
    const err = (await handler(payload, context("ScaleService", payload)).catch((e: unknown) => e)) as {
      code: string;
      message: string;
    };
    expect(err.code).to.equal("SCALE_FAILED");
    expect(err.message).to.include("non-zero exit (1)");
  });

  it("refuses with AGENT_STOPPING when the agent stops during the wait", async () => {
    const engine = new ScriptedEngine();
    engine.snapshots = [
      { services: [web(2)], tasks: running(2) },
      { services: [web(4)], tasks: running(2) },
    ];
    const stop = new AbortController();
    const payload = { stackName: "st", service: "web", replicas: 4 };
    const handler = createScaleHandler(engine, { now: () => NOW, pollIntervalMs: 2 });
    setTimeout(() => stop.abort(), 30);
    const err = await handler(payload, context("ScaleService", payload, { signal: stop.signal })).catch(
      (e: unknown) => e,
    );
    expect(err).to.include({ code: "AGENT_STOPPING" });
  });
});

describe("GetLogs handler", () => {
  const line = (text: string, ts: string | null = null): LogLine => ({ stream: "stdout", ts, line: text });

  it("asks the engine for twice the budget and keeps the newest lines that fit", async () => {
    const engine = new ScriptedEngine();
    engine.snapshots = [{ services: [web(1)], tasks: [] }];
    engine.logLines = [
      line("aaaa", "2026-01-01T00:00:01Z"),
      line("bbbb", "2026-01-01T00:00:02Z"),
      line("cccc", "2026-01-01T00:00:03Z"),
    ];
    const handler = createLogsHandler(engine);
    const payload = { stackName: "st", service: "web", tail: 50, since: 1_700_000_000, maxBytes: 9 };
    const result = await handler(payload, context("GetLogs", payload));
    expect(engine.logCalls).to.deep.equal([
      { serviceId: "svc-web", opts: { tail: 50, since: 1_700_000_000, maxBytes: 18 } },
    ]);
    expect(result).to.deep.equal({
      lines: [line("bbbb", "2026-01-01T00:00:02Z"), line("cccc", "2026-01-01T00:00:03Z")],
      truncated: true,
    });
  });

  it("is not truncated when everything fits, and omits since when not given", async () => {
    const engine = new ScriptedEngine();
    engine.snapshots = [{ services: [web(1)], tasks: [] }];
    engine.logLines = [line("one"), line("two")];
    const payload = { stackName: "st", service: "web", tail: 10, since: null, maxBytes: 1_000 };
    const result = await createLogsHandler(engine)(payload, context("GetLogs", payload));
    expect(result).to.deep.equal({ lines: [line("one"), line("two")], truncated: false });
    expect(engine.logCalls[0]?.opts).to.deep.include({ tail: 10, maxBytes: 2_000 });
    expect(engine.logCalls[0]?.opts.since).to.equal(undefined);
  });

  it("rejects an unknown service with SERVICE_NOT_FOUND", async () => {
    const engine = new ScriptedEngine();
    engine.snapshots = [{ services: [web(1)], tasks: [] }];
    const payload = { stackName: "st", service: "db", tail: 10, since: null, maxBytes: 1_000 };
    const err = await createLogsHandler(engine)(payload, context("GetLogs", payload)).catch((e: unknown) => e);
    expect(err).to.include({ code: "SERVICE_NOT_FOUND" });
  });

  it("cuts a single line longer than the whole budget, on a character boundary", () => {
    const result = newestWithin([line("old"), line("ééééé")], 6);
    expect(result.truncated).to.equal(true);
    expect(result.lines).to.deep.equal([line("é…")]);
  });
});

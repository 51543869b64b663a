import { expect } from "chai";
import { getServiceLogs, mergeTail } from "./logs.js";
import { scaleService } from "./scale.js";
import { FakeEngine, fakeService, fakeTask } from "./testing/fake-engine.js";
import type { DeployEvent } from "./types.js";

function engineWith(replicasRunning: number[]) {
  const engine = new FakeEngine();
  const web = fakeService({ id: "s1", name: "st_web", desiredReplicas: 3 });
  const api = fakeService({ id: "s2", name: "st_api", desiredReplicas: 1, mode: "global" });
  engine.snapshots = replicasRunning.map((n) => ({
    services: [web, api],
    tasks: Array.from({ length: n }, () => fakeTask({ serviceId: "s1" })),
  }));
  return engine;
}

describe("scaleService", () => {
  it("scales by compose name and waits until the new count runs", async () => {
    const engine = engineWith([2, 2, 3, 3]);
    const events: DeployEvent[] = [];
    const result = await scaleService(
      engine,
      { stackName: "st", service: "web", replicas: 3, timeoutSeconds: 5 },
      new AbortController().signal,
      {
        pollIntervalMs: 1,
        stabilizationMs: 0,
        emit: (e) => events.push(e),
      },
    );
    expect(engine.scaleCalls).to.deep.equal([{ serviceId: "s1", replicas: 3 }]);
    expect(result).to.deep.equal({
      status: "SUCCEEDED",
      service: { name: "st_web", desired: 3, running: 3, image: "stackyard/busybox:test", healthy: true },
    });
    expect(events.map((e) => e.message)).to.include("service st_web: 3/3 replicas running");
  });

  it("times out with the running count", async () => {
    const engine = engineWith([2]);
    const result = await scaleService(
      engine,
      { stackName: "st", service: "st_web", replicas: 3, timeoutSeconds: 0.05 },
      new AbortController().signal,
      { pollIntervalMs: 1 },
    );
    expect(result).to.deep.include({ status: "FAILED", error: "timed out after 0.05s with 2/3 replicas running" });
  });

  it("rejects unknown services, global services and bad counts before changing anything", async () => {
    const engine = engineWith([2]);
    const signal = new AbortController().signal;
    const codeOf = async (p: Promise<unknown>) =>
      p.then(
        () => "none",
        (e: { code?: string }) => e.code,
      );
    expect(
      await codeOf(scaleService(engine, { stackName: "st", service: "nope", replicas: 1, timeoutSeconds: 1 }, signal)),
    ).to.equal("SERVICE_NOT_FOUND");
    expect(
      await codeOf(scaleService(engine, { stackName: "st", service: "api", replicas: 1, timeoutSeconds: 1 }, signal)),
    ).to.equal("SERVICE_NOT_SCALABLE");
    expect(
      await codeOf(scaleService(engine, { stackName: "st", service: "web", replicas: -1, timeoutSeconds: 1 }, signal)),
    ).to.equal("INVALID_REQUEST");
    expect(engine.scaleCalls).to.deep.equal([]);
  });
});

describe("getServiceLogs", () => {
  it("orders lines of all tasks by time and keeps the newest `tail`", async () => {
    const engine = engineWith([1]);
    engine.logLines = [
      { stream: "stdout", ts: "2026-01-01T00:00:02.5Z", line: "task1 b" },
      { stream: "stdout", ts: "2026-01-01T00:00:03Z", line: "task1 c" },
      { stream: "stderr", ts: "2026-01-01T00:00:01Z", line: "task2 a" },
      { stream: "stdout", ts: "2026-01-01T00:00:02.25Z", line: "task2 b" },
    ];
    const result = await getServiceLogs(engine, { stackName: "st", service: "web", tail: 3, maxBytes: 1000 });
    expect(result.service).to.equal("st_web");
    expect(result.lines.map((l) => l.line)).to.deep.equal(["task2 b", "task1 b", "task1 c"]);
  });

  it("validates tail and maxBytes", async () => {
    const engine = engineWith([1]);
    const err = await getServiceLogs(engine, { stackName: "st", service: "web", tail: 0, maxBytes: 10 }).catch(
      (e: unknown) => e,
    );
    expect((err as { code?: string }).code).to.equal("INVALID_REQUEST");
  });

  it("mergeTail keeps lines without a timestamp after the line before them", () => {
    const merged = mergeTail(
      [
        { stream: "stdout", ts: "2026-01-01T00:00:05Z", line: "late" },
        { stream: "stdout", ts: null, line: "late cont." },
        { stream: "stdout", ts: "2026-01-01T00:00:01Z", line: "early" },
      ],
      10,
    );
    expect(merged.map((l) => l.line)).to.deep.equal(["early", "late", "late cont."]);
  });
});

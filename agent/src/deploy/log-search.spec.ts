import { expect } from "chai";
import type { LogLine, ServiceLogOptions } from "../docker/engine.js";
import { createSearchLogsHandler } from "../handlers/logs.js";
import { LogCollector } from "../docker/dockerode-engine.js";
import { lineMatcher, mergeByTime, searchStackLogs } from "./log-search.js";
import { MAX_LOG_BYTES, MAX_LOG_TAIL } from "./logs.js";
import { FakeEngine, fakeService } from "./testing/fake-engine.js";

/** Each service answers its own lines, and every read's options are kept. */
class PerServiceEngine extends FakeEngine {
  byService = new Map<string, LogLine[]>();
  reads: Array<{ serviceId: string; opts: ServiceLogOptions }> = [];
  override async serviceLogs(serviceId = "", opts: ServiceLogOptions = { tail: 0, maxBytes: 0 }) {
    this.reads.push({ serviceId, opts });
    return this.byService.get(serviceId) ?? [];
  }
}

const line = (ts: string | null, text: string, task = "t1"): LogLine => ({
  stream: "stdout",
  ts,
  line: text,
  task,
  node: "n1",
});

function engine() {
  const e = new PerServiceEngine();
  e.snapshots = [
    {
      services: [fakeService({ id: "s-web", name: "st_web" }), fakeService({ id: "s-api", name: "st_api" })],
      tasks: [],
    },
  ];
  e.byService.set("s-web", [
    line("2026-01-01T00:00:01.5Z", "web GET /health"),
    line("2026-01-01T00:00:03Z", "web Upstream TIMEOUT"),
  ]);
  e.byService.set("s-api", [
    line("2026-01-01T00:00:02.000000001Z", "api timeout talking to db", "t9"),
    line(null, "  at stack frame"),
    line("2026-01-01T00:00:04Z", "api ok"),
  ]);
  return e;
}

const request = { stackName: "st", services: ["web", "api"], since: 100, until: 200, text: null };

describe("log search (agent)", () => {
  it("matches plain text case-insensitively, with no pattern syntax", () => {
    expect(lineMatcher("TimeOut")("upstream timeout")).to.equal(true);
    expect(lineMatcher("a.c")("abc")).to.equal(false);
    expect(lineMatcher("a.c")("x a.c y")).to.equal(true);
    expect(lineMatcher(null)("anything")).to.equal(true);
  });

  it("merges services by timestamp (padded nanoseconds), keeping an untimed line after its predecessor", () => {
    const merged = mergeByTime([
      [line("2026-01-01T00:00:01.5Z", "a1"), line("2026-01-01T00:00:03Z", "a2")],
      [line("2026-01-01T00:00:02.000000001Z", "b1"), line(null, "b1 cont"), line("2026-01-01T00:00:01.49Z", "b0")],
    ]);
    // b0 was out of order in its own service: sorting puts it first; "b1 cont" stays with b1.
    expect(merged.map((l) => l.line)).to.deep.equal(["b0", "a1", "b1", "b1 cont", "a2"]);
  });

  it("reads each service in the range with details, keeps only matches, merged and tagged with the service", async () => {
    const e = engine();
    const result = await searchStackLogs(e, { ...request, text: "timeout" });
    expect(result.lines.map((l) => [l.service, l.task, l.line])).to.deep.equal([
      ["api", "t9", "api timeout talking to db"],
      ["web", "t1", "web Upstream TIMEOUT"],
    ]);
    expect(result.truncated).to.equal(false);
    expect(e.reads.map((r) => [r.serviceId, r.opts.since, r.opts.until, r.opts.details])).to.deep.equal([
      ["s-web", 100, 200, true],
      ["s-api", 100, 200, true],
    ]);
  });

  it("says the range was not searched whole when a service's read hit the line count or came near the byte cap", async () => {
    const many = engine();
    many.byService.set(
      "s-web",
      Array.from({ length: MAX_LOG_TAIL }, (_, i) => line(null, `l${i}`)),
    );
    expect((await searchStackLogs(many, request)).truncated).to.equal(true);
    const big = engine();
    big.byService.set("s-api", [line("2026-01-01T00:00:05Z", "x".repeat(MAX_LOG_BYTES / 2))]);
    expect((await searchStackLogs(big, { ...request, text: "nothing like it" })).truncated).to.equal(true);
  });

  it("refuses an unknown service by name before reading any logs, and a range that ends before it starts", async () => {
    const e = engine();
    const err = await searchStackLogs(e, { ...request, services: ["web", "nope"] }).catch((x: unknown) => x);
    expect(err).to.include({ code: "SERVICE_NOT_FOUND" });
    expect(String((err as Error).message)).to.contain("nope");
    expect(e.reads).to.deep.equal([]);
    const range = await searchStackLogs(e, { ...request, since: 200, until: 200 }).catch((x: unknown) => x);
    expect(range).to.include({ code: "INVALID_REQUEST" });
  });

  it("the handler keeps the newest `limit` lines and says the rest was left out", async () => {
    const handler = createSearchLogsHandler(engine());
    const result = await handler({ ...request, limit: 2, maxBytes: 65_536 }, {} as never);
    expect(result.lines.map((l) => l.line)).to.deep.equal(["web Upstream TIMEOUT", "api ok"]);
    expect(result.lines[1]).to.deep.equal({
      service: "api",
      task: "t1",
      node: "n1",
      stream: "stdout",
      ts: "2026-01-01T00:00:04Z",
      line: "api ok",
    });
    expect(result.truncated).to.equal(true);
  });

  it("the collector reads the daemon's details attributes into task and node", () => {
    const c = new LogCollector(1024, true);
    c.push(
      "stdout",
      Buffer.from(
        "2026-01-01T00:00:01.000000000Z com.docker.swarm.node.id=n7,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t3 hello a=b world\n" +
          "2026-01-01T00:00:02.000000000Z  no attributes\n",
      ),
    );
    expect(c.finish()).to.deep.equal([
      { stream: "stdout", ts: "2026-01-01T00:00:01.000000000Z", line: "hello a=b world", task: "t3", node: "n7" },
      { stream: "stdout", ts: "2026-01-01T00:00:02.000000000Z", line: "no attributes", task: null, node: null },
    ]);
  });
});

import { expect } from "chai";
import type { FollowLogs, LogFollowMessage, LogLine } from "../../../nats/protocol/messages.js";
import type { CommandContext } from "../commands.js";
import { FakeEngine, fakeService } from "../deploy/testing/fake-engine.js";
import type { RolloutService } from "../deploy/types.js";
import type { SwarmLogFollower } from "../docker/engine.js";
import { LogFollowManager, type LogFollowLimits } from "./log-follow.js";

const ctx = {} as CommandContext;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class StackEngine extends FakeEngine {
  services: RolloutService[] = [fakeService({ id: "svc1", name: "st_app", stack: "st" })];
  override async listServices(filter?: { stack?: string }): Promise<RolloutService[]> {
    return this.services.filter((s) => !filter?.stack || s.stack === filter.stack);
  }
}

/** A log stream the test writes to; it ends when the follow's signal aborts or `endAll()` is called. */
class FakeFollower implements SwarmLogFollower {
  calls: Array<{ serviceId: string; tail: number; since?: number }> = [];
  private readonly open = new Set<{ emit: (l: LogLine) => void; end: () => void }>();
  get openStreams() {
    return this.open.size;
  }
  followServiceLogs(
    serviceId: string,
    opts: { tail: number; since?: number; signal: AbortSignal },
    onLine: (line: LogLine) => void,
  ): Promise<void> {
    this.calls.push({ serviceId, tail: opts.tail, ...(opts.since !== undefined ? { since: opts.since } : {}) });
    return new Promise((resolve) => {
      const stream = {
        emit: onLine,
        end: () => {
          this.open.delete(stream);
          resolve();
        },
      };
      this.open.add(stream);
      opts.signal.addEventListener("abort", stream.end, { once: true });
    });
  }
  write(text: string, stream: "stdout" | "stderr" = "stdout") {
    for (const s of this.open) s.emit({ stream, ts: "2026-01-01T00:00:00.000000000Z", line: text });
  }
  endAll() {
    for (const s of [...this.open]) s.end();
  }
}

function setup(limits: Partial<LogFollowLimits> = {}) {
  const engine = new StackEngine();
  const follower = new FakeFollower();
  const published: Array<{ subject: string; message: LogFollowMessage }> = [];
  let now = 1_000_000;
  const agent = new AbortController();
  const manager = new LogFollowManager({
    engine,
    follower,
    clusterSubject: (id) => `agent.c1.logs.${id}`,
    publish: (subject, data) =>
      published.push({ subject, message: JSON.parse(new TextDecoder().decode(data)) as LogFollowMessage }),
    now: () => now,
    signal: agent.signal,
    limits: { batchMs: 10, checkMs: 15, ...limits },
  });
  const h = manager.handlers();
  const follow = (over: Partial<FollowLogs> = {}) =>
    h.FollowLogs!(
      { followId: "f1", stackName: "st", service: "app", tail: 10, since: null, grep: null, leaseSeconds: 30, ...over },
      ctx,
    );
  const lines = () => published.flatMap((p) => (p.message.type === "lines" ? p.message.lines.map((l) => l.line) : []));
  const ends = () => published.flatMap((p) => (p.message.type === "end" ? [p.message] : []));
  return {
    engine,
    follower,
    published,
    manager,
    h,
    follow,
    lines,
    ends,
    agent,
    advance: (ms: number) => (now += ms),
  };
}

describe("agent log follows (FollowLogs / RenewLogs / StopLogs)", () => {
  it("follows the stack's service and publishes its lines in batches on the follow's subject", async () => {
    const t = setup();
    const result = await t.follow({ tail: 5, since: 1_700_000_000 });
    expect(result).to.deep.equal({ followId: "f1", service: "st_app", subject: "agent.c1.logs.f1" });
    expect(t.follower.calls).to.deep.equal([{ serviceId: "svc1", tail: 5, since: 1_700_000_000 }]);
    t.follower.write("one");
    t.follower.write("two", "stderr");
    await sleep(30);
    expect(t.lines()).to.deep.equal(["one", "two"]);
    expect(t.published.every((p) => p.subject === "agent.c1.logs.f1")).to.equal(true);
    const batch = t.published.find((p) => p.message.type === "lines")!.message;
    expect(batch).to.deep.include({ type: "lines" });
    expect((batch as { lines: LogLine[] }).lines[1]!.stream).to.equal("stderr");
    t.manager.stopAll("stopped");
  });

  it("keeps only lines containing the grep text (a plain substring: regex characters mean themselves)", async () => {
    const t = setup();
    await t.follow({ grep: "GET /a.c" });
    for (const line of ["GET /a.c 200", "GET /abc 200", "POST /a.c", "GET /a.c 404"]) t.follower.write(line);
    await sleep(30);
    expect(t.lines()).to.deep.equal(["GET /a.c 200", "GET /a.c 404"]);
    t.manager.stopAll("stopped");
  });

  it("StopLogs ends the follow: the stream closes, an end message goes out, and nothing after it", async () => {
    const t = setup();
    await t.follow();
    expect(t.manager.size).to.equal(1);
    expect(await t.h.StopLogs!({ followId: "f1" }, ctx)).to.deep.equal({ followId: "f1", stopped: true });
    expect(t.manager.size).to.equal(0);
    expect(t.follower.openStreams).to.equal(0);
    expect(t.ends()).to.deep.equal([{ type: "end", reason: "stopped", message: null }]);
    const count = t.published.length;
    t.follower.write("late");
    await sleep(30);
    expect(t.published.length).to.equal(count);
    expect(await t.h.StopLogs!({ followId: "f1" }, ctx)).to.deep.equal({ followId: "f1", stopped: false });
  });

  it("ends when the lease is not renewed, and RenewLogs extends it (but never restarts an ended follow)", async () => {
    const t = setup();
    await t.follow({ leaseSeconds: 10 });
    t.advance(8_000);
    expect(await t.h.RenewLogs!({ followId: "f1", leaseSeconds: 10 }, ctx)).to.deep.equal({
      followId: "f1",
      active: true,
    });
    t.advance(8_000);
    await sleep(40);
    expect(t.manager.size).to.equal(1);
    t.advance(3_000);
    await sleep(40);
    expect(t.manager.size).to.equal(0);
    expect(t.follower.openStreams).to.equal(0);
    expect(t.ends().map((e) => e.reason)).to.deep.equal(["lease_expired"]);
    expect(await t.h.RenewLogs!({ followId: "f1", leaseSeconds: 10 }, ctx)).to.deep.equal({
      followId: "f1",
      active: false,
    });
    expect(t.manager.size).to.equal(0);
  });

  it("ends with service_gone when the service disappears, whether or not the daemon ends the stream", async () => {
    const t = setup();
    await t.follow();
    t.engine.services = [];
    await sleep(50);
    expect(t.ends().map((e) => e.reason)).to.deep.equal(["service_gone"]);
    expect(t.follower.openStreams).to.equal(0);

    const u = setup({ checkMs: 60_000 });
    await u.follow();
    u.engine.services = [];
    u.follower.endAll();
    await sleep(20);
    expect(u.ends().map((e) => e.reason)).to.deep.equal(["service_gone"]);
  });

  it("refuses an unknown service, a duplicate follow id, and more follows than the cap", async () => {
    const t = setup({ maxFollows: 2 });
    const code = (p: Promise<unknown>) =>
      p.then(
        () => "resolved",
        (err: { code?: string }) => err.code,
      );
    expect(await code(t.follow({ service: "nope" }))).to.equal("SERVICE_NOT_FOUND");
    await t.follow({ followId: "f1" });
    expect(await code(t.follow({ followId: "f1" }))).to.equal("LOG_FOLLOW_EXISTS");
    await t.follow({ followId: "f2" });
    expect(await code(t.follow({ followId: "f3" }))).to.equal("TOO_MANY_LOG_FOLLOWS");
    expect(t.follower.calls).to.have.length(2);
    t.manager.stopAll("stopped");
    await t.follow({ followId: "f3" });
    t.manager.stopAll("stopped");
  });

  it("caps lines per second and says how many it dropped instead of dropping them silently", async () => {
    const t = setup({ maxLinesPerSecond: 3 });
    await t.follow();
    for (let i = 0; i < 10; i++) t.follower.write(`line ${i}`);
    await sleep(20);
    expect(t.lines()).to.deep.equal(["line 0", "line 1", "line 2"]);
    t.advance(1_000);
    await sleep(30);
    const notices = t.published.flatMap((p) => (p.message.type === "notice" ? [p.message.message] : []));
    expect(notices).to.have.length(1);
    expect(notices[0]).to.match(/^rate limited, 7 lines dropped/);
    t.follower.write("after");
    await sleep(20);
    expect(t.lines().at(-1)).to.equal("after");
    t.manager.stopAll("stopped");
  });

  it("caps bytes per second too", async () => {
    const t = setup({ maxBytesPerSecond: 10 });
    await t.follow();
    t.follower.write("12345");
    t.follower.write("67890");
    t.follower.write("x");
    t.manager.stopAll("stopped");
    expect(t.lines()).to.deep.equal(["12345", "67890"]);
    const notice = t.published.find((p) => p.message.type === "notice")!.message as { message: string };
    expect(notice.message).to.match(/^rate limited, 1 lines dropped/);
  });

  it("ends every follow when the agent stops", async () => {
    const t = setup();
    await t.follow({ followId: "a" });
    await t.follow({ followId: "b" });
    t.agent.abort();
    expect(t.manager.size).to.equal(0);
    expect(t.ends().map((e) => e.reason)).to.deep.equal(["agent_stopping", "agent_stopping"]);
  });
});

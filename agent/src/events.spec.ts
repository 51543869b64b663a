import { expect } from "chai";
import { decodeDeploymentEvents, MAX_EVENT_BATCH_BYTES, MAX_EVENT_BATCH_EVENTS } from "../../nats/protocol/messages.js";
import { DeploymentEventStream, EVENT_PUBLISH_ATTEMPTS, type AckedPublish } from "./events.js";
import { createLogger } from "./logger.js";

const log = createLogger({ level: "error", write: () => undefined });

/** A stream of cluster c1 that publishes through `publish`; `now` is fixed. */
const streamOf = (publish: AckedPublish, opts: { deploymentId?: string; firstSeq?: number; backoffMs?: number } = {}) =>
  new DeploymentEventStream({
    publish,
    clusterId: "c1",
    deploymentId: opts.deploymentId ?? "d1",
    firstSeq: opts.firstSeq ?? 0,
    now: () => 5,
    log,
    ...(opts.backoffMs !== undefined ? { backoff: { initialMs: opts.backoffMs, maxMs: 5 * opts.backoffMs } } : {}),
  });

describe("deployment event stream", () => {
  it("publishes in order, numbering from firstSeq, a lone event alone and waiting ones as one batch", async () => {
    const seen: Array<{ subject: string; msgID: string; seqs: number[]; outcome: string | null }> = [];
    const publish: AckedPublish = async (subject, data, opts) => {
      const events = decodeDeploymentEvents(data);
      const raw = JSON.parse(new TextDecoder().decode(data)) as { events?: unknown };
      expect(raw.events === undefined, "a single event travels as a DeploymentEvent").to.equal(events.length === 1);
      await new Promise((r) => setTimeout(r, 20));
      seen.push({ subject, msgID: opts.msgID, seqs: events.map((e) => e.seq), outcome: events.at(-1)!.outcome });
      return { stream: "S", seq: seen.length, duplicate: false, domain: "" };
    };
    const stream = streamOf(publish, { firstSeq: 3 });
    stream.emit({ level: "info", message: "Creating network web_default" });
    await stream.flushed();
    stream.emit({ level: "info", message: "Creating service web_app", data: { service: "web_app" } });
    // Emitted while the publish above waits for its ack: these two travel together.
    await new Promise((r) => setTimeout(r, 5));
    stream.emit({ level: "info", message: "Creating service web_db" });
    await stream.finish("succeeded", { level: "info", message: "deployed" });
    expect(seen).to.deep.equal([
      { subject: "agent-events.c1.d1", msgID: "d1-3", seqs: [3], outcome: null },
      { subject: "agent-events.c1.d1", msgID: "d1-4", seqs: [4], outcome: null },
      { subject: "agent-events.c1.d1", msgID: "d1-5-6", seqs: [5, 6], outcome: "succeeded" },
    ]);
  });

  it("caps a batch by events and by bytes", async () => {
    const sizes: Array<{ events: number; bytes: number }> = [];
    const publish: AckedPublish = async (_s, data) => {
      sizes.push({ events: decodeDeploymentEvents(data).length, bytes: data.length });
      return { stream: "S", seq: sizes.length, duplicate: false, domain: "" };
    };
    const stream = streamOf(publish);
    for (let i = 0; i < 1_250; i++) stream.emit({ level: "info", message: `line ${i}` });
    await stream.flushed();
    expect(sizes.map((s) => s.events)).to.deep.equal([MAX_EVENT_BATCH_EVENTS, MAX_EVENT_BATCH_EVENTS, 250]);

    sizes.length = 0;
    const long = "x".repeat(16 * 1024);
    for (let i = 0; i < 100; i++) stream.emit({ level: "info", message: long });
    await stream.finish("succeeded", { level: "info", message: "done" });
    expect(sizes.reduce((n, s) => n + s.events, 0)).to.equal(101);
    expect(sizes.length).to.be.greaterThan(1);
    for (const s of sizes) expect(s.bytes).to.be.at.most(MAX_EVENT_BATCH_BYTES + 64);
  });

  it("retries a failed publish with the same message id, then gives up without throwing", async function () {
    this.timeout(20_000);
    const ids: string[] = [];
    let failures = 2;
    const flaky: AckedPublish = async (_s, _d, opts) => {
      ids.push(opts.msgID);
      if (failures-- > 0) throw new Error("timeout");
      return { stream: "S", seq: 1, duplicate: false, domain: "" };
    };
    const stream = streamOf(flaky);
    await stream.finish("failed", { level: "error", message: "boom" });
    expect(ids).to.deep.equal(["d1-0", "d1-0", "d1-0"]);
    expect(stream.dropped).to.equal(0);

    let calls = 0;
    const down: AckedPublish = async () => {
      calls++;
      throw new Error("no responders");
    };
    const dead = streamOf(down, { deploymentId: "d2", backoffMs: 1 });
    await dead.finish("failed", { level: "error", message: "boom" });
    expect(calls).to.equal(EVENT_PUBLISH_ATTEMPTS);
    expect(dead.dropped).to.equal(1);
  });
});

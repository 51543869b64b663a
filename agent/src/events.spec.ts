import { expect } from "chai";
import { decodeMessage } from "../../nats/protocol/messages.js";
import { DeploymentEventStream, EVENT_PUBLISH_ATTEMPTS, type AckedPublish } from "./events.js";
import { createLogger } from "./logger.js";

const log = createLogger({ level: "error", write: () => undefined });

describe("deployment event stream", () => {
  it("publishes in order, numbering from firstSeq, with message ids, the last carrying the outcome", async () => {
    const seen: Array<{ subject: string; msgID: string; seq: number; outcome: string | null }> = [];
    const publish: AckedPublish = async (subject, data, opts) => {
      const event = decodeMessage("DeploymentEvent", data);
      await new Promise((r) => setTimeout(r, event.seq === 3 ? 20 : 0));
      seen.push({ subject, msgID: opts.msgID, seq: event.seq, outcome: event.outcome });
      return { stream: "S", seq: seen.length, duplicate: false, domain: "" };
    };
    const stream = new DeploymentEventStream({
      publish,
      clusterId: "c1",
      deploymentId: "d1",
      firstSeq: 3,
      now: () => 5,
      log,
    });
    stream.emit({ level: "info", message: "Creating network web_default" });
    stream.emit({ level: "info", message: "Creating service web_app", data: { service: "web_app" } });
    await stream.finish("succeeded", { level: "info", message: "deployed" });
    expect(seen).to.deep.equal([
      { subject: "agent-events.c1.d1", msgID: "d1-3", seq: 3, outcome: null },
      { subject: "agent-events.c1.d1", msgID: "d1-4", seq: 4, outcome: null },
      { subject: "agent-events.c1.d1", msgID: "d1-5", seq: 5, outcome: "succeeded" },
    ]);
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
    const stream = new DeploymentEventStream({
      publish: flaky,
      clusterId: "c1",
      deploymentId: "d1",
      firstSeq: 0,
      now: () => 5,
      log,
    });
    await stream.finish("failed", { level: "error", message: "boom" });
    expect(ids).to.deep.equal(["d1-0", "d1-0", "d1-0"]);
    expect(stream.dropped).to.equal(0);

    let calls = 0;
    const down: AckedPublish = async () => {
      calls++;
      throw new Error("no responders");
    };
    const dead = new DeploymentEventStream({
      publish: down,
      clusterId: "c1",
      deploymentId: "d2",
      firstSeq: 0,
      now: () => 5,
      log,
      backoff: { initialMs: 1, maxMs: 5 },
    });
    await dead.finish("failed", { level: "error", message: "boom" });
    expect(calls).to.equal(EVENT_PUBLISH_ATTEMPTS);
    expect(dead.dropped).to.equal(1);
  });
});

import { expect } from "chai";
import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import { DeploymentStreamHub, type ReplayPage, type StreamEvent } from "./sse.js";
import { sleep, until } from "../_shared/testing/wait.js";

/** A response that records what was written: the seqs of the events and whether it ended. */
class RecordingResponse extends EventEmitter {
  readonly seqs: number[] = [];
  ended = false;
  endStatus: string | null = null;
  writeHead(): this {
    return this;
  }
  write(chunk: string): boolean {
    const id = /^id: (\d+)$/m.exec(chunk);
    if (id && chunk.includes("event: deployment-event")) this.seqs.push(Number(id[1]));
    const end = /^event: end\ndata: (.*)$/m.exec(chunk);
    if (end) this.endStatus = (JSON.parse(end[1]!) as { status: string }).status;
    return true;
  }
  end(): void {
    this.ended = true;
  }
}

const event = (seq: number, terminal = false): StreamEvent => ({
  seq,
  ts: new Date(0).toISOString(),
  level: "info",
  message: `line ${seq}`,
  data: terminal ? { terminal: true } : {},
});

/** A store of committed events, read a page at a time as the route does. */
function store(status = "RUNNING") {
  const committed = new Map<number, StreamEvent>();
  const state = { status };
  const fetchPage = (afterSeq: number | null): Promise<ReplayPage> => {
    const events = [...committed.values()].filter((e) => e.seq > (afterSeq ?? -1)).sort((a, b) => a.seq - b.seq);
    return Promise.resolve({
      deployment: { id: "d", status: state.status },
      events: events.slice(0, 3),
      more: events.length > 3,
    });
  };
  return { committed, state, fetchPage, commit: (...es: StreamEvent[]) => es.forEach((e) => committed.set(e.seq, e)) };
}

describe("DeploymentStreamHub: every client gets each seq once, in order, without a gap", () => {
  it("holds an event that overtook an earlier one until the earlier one arrives", async () => {
    const hub = new DeploymentStreamHub({ gapWaitMs: 5_000, gapRetryMs: 20 });
    const db = store();
    const res = new RecordingResponse();
    const serving = hub.serve(res as unknown as ServerResponse, "d", null, db.fetchPage);
    await serving;
    db.commit(event(0), event(1), event(3));
    hub.publish("d", [event(0), event(1)], null);
    hub.publish("d", [event(3)], null); // 2 is committed later by another writer
    await sleep(100);
    expect(res.seqs).to.deep.equal([0, 1]);
    db.commit(event(2));
    hub.publish("d", [event(2)], null);
    await until("3 sent", async () => (res.seqs.length === 4 ? true : undefined), 2_000, 10);
    expect(res.seqs).to.deep.equal([0, 1, 2, 3]);
  });

  it("fills a lost broadcast from the store", async () => {
    const hub = new DeploymentStreamHub({ gapWaitMs: 5_000, gapRetryMs: 20 });
    const db = store();
    const res = new RecordingResponse();
    await hub.serve(res as unknown as ServerResponse, "d", null, db.fetchPage);
    db.commit(event(0), event(1), event(2), event(3), event(4), event(5));
    hub.publish("d", [event(0)], null);
    hub.publish("d", [event(5)], null); // 1–4 were broadcast while this gateway's NATS node was down
    await until("5 sent", async () => (res.seqs.length === 6 ? true : undefined), 2_000, 10);
    expect(res.seqs).to.deep.equal([0, 1, 2, 3, 4, 5]);
  });

  it("ends on a terminal status only after what the store holds before it was sent", async () => {
    const hub = new DeploymentStreamHub({ gapWaitMs: 5_000, gapRetryMs: 20 });
    const db = store();
    const res = new RecordingResponse();
    await hub.serve(res as unknown as ServerResponse, "d", null, db.fetchPage);
    db.commit(event(0), event(1), event(2, true));
    db.state.status = "SUCCEEDED";
    hub.publish("d", [event(0)], "SUCCEEDED"); // the broadcasts of 1 and 2 were lost
    await until("the end", async () => (res.ended ? true : undefined), 2_000, 10);
    expect(res.seqs).to.deep.equal([0, 1, 2]);
    expect(res.endStatus).to.equal("SUCCEEDED");
  });

  it("replays a store with a gap in order, then sends the rest when the gap is committed", async () => {
    const hub = new DeploymentStreamHub({ gapWaitMs: 5_000, gapRetryMs: 20 });
    const db = store();
    db.commit(event(0), event(1), event(3), event(4), event(5), event(6));
    const res = new RecordingResponse();
    await hub.serve(res as unknown as ServerResponse, "d", null, db.fetchPage);
    await sleep(60);
    expect(res.seqs).to.deep.equal([0, 1]);
    db.commit(event(2));
    await until("all sent", async () => (res.seqs.length === 7 ? true : undefined), 2_000, 10);
    expect(res.seqs).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
  });

  it("gives a gap that never fills up after the wait and sends the rest, once each", async () => {
    const hub = new DeploymentStreamHub({ gapWaitMs: 150, gapRetryMs: 20 });
    const db = store();
    const res = new RecordingResponse();
    await hub.serve(res as unknown as ServerResponse, "d", null, db.fetchPage);
    db.commit(event(0), event(2));
    hub.publish("d", [event(0)], null);
    hub.publish("d", [event(2)], null);
    hub.publish("d", [event(2)], null);
    await sleep(60);
    expect(res.seqs).to.deep.equal([0]);
    await until("2 sent", async () => (res.seqs.length === 2 ? true : undefined), 2_000, 10);
    expect(res.seqs).to.deep.equal([0, 2]);
    res.emit("close");
  });

  it("resumes after Last-Event-ID without resending it", async () => {
    const hub = new DeploymentStreamHub({ gapWaitMs: 5_000, gapRetryMs: 20 });
    const db = store();
    db.commit(event(0), event(1), event(2), event(3));
    const res = new RecordingResponse();
    await hub.serve(res as unknown as ServerResponse, "d", 1, db.fetchPage);
    expect(res.seqs).to.deep.equal([2, 3]);
    res.emit("close");
  });
});

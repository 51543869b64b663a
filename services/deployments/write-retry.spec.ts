import { expect } from "chai";
import { retryUntilWritten } from "./write-retry.js";

describe("retryUntilWritten (the event writer during a Postgres outage)", () => {
  const base = () => {
    const pauses: number[] = [];
    const log: string[] = [];
    return {
      pauses,
      log,
      opts: {
        initialDelayMs: 100,
        maxDelayMs: 400,
        stopped: () => false,
        onError: (_err: unknown, attempt: number) => log.push(`error ${attempt}`),
        keepAlive: () => log.push("in progress"),
        sleep: async (ms: number) => {
          pauses.push(ms);
        },
      },
    };
  };

  it("retries the same batch with growing pauses until it is written, keeping its messages in progress", async () => {
    const { pauses, log, opts } = base();
    let calls = 0;
    const result = await retryUntilWritten(async () => {
      calls++;
      if (calls <= 4) throw new Error("connect ECONNREFUSED");
      return "stored";
    }, opts);
    expect(result).to.equal("stored");
    expect(calls).to.equal(5);
    expect(pauses).to.deep.equal([100, 200, 400, 400]);
    expect(log.filter((l) => l === "in progress")).to.have.length(4);
  });

  it("gives the batch up (unacked, for redelivery) when the service stops", async () => {
    const { opts } = base();
    let stopped = false;
    let calls = 0;
    const result = await retryUntilWritten(
      async () => {
        calls++;
        stopped = calls >= 2;
        throw new Error("down");
      },
      { ...opts, stopped: () => stopped },
    );
    expect(result).to.equal(null);
    expect(calls).to.equal(2);
  });
});

import { expect } from "chai";
import { Errors } from "moleculer";
import { retryRead } from "./retry-read.js";

describe("retryRead (idempotent reads across instances)", () => {
  it("retries a request that got no answer, with the shorter timeout each time", async () => {
    const timeouts: number[] = [];
    const result = await retryRead(async (timeoutMs) => {
      timeouts.push(timeoutMs);
      if (timeouts.length < 3) throw new Errors.RequestTimeoutError({ action: "x", nodeID: "n1" });
      return "page";
    });
    expect(result).to.equal("page");
    expect(timeouts).to.deep.equal([5_000, 5_000, 5_000]);
  });

  it("gives up after the attempts, with the last error", async () => {
    let calls = 0;
    const err = await retryRead(
      async () => {
        calls++;
        throw new Errors.ServiceNotAvailableError({ action: "x", nodeID: "n1" });
      },
      { attempts: 2 },
    ).catch((e: unknown) => e);
    expect(calls).to.equal(2);
    expect((err as Error).name).to.equal("ServiceNotAvailableError");
  });

  it("does not retry an answer: a 404 or a validation error is final", async () => {
    let calls = 0;
    const err = await retryRead(async () => {
      calls++;
      throw Object.assign(new Error("not found"), { name: "NotFoundError" });
    }).catch((e: unknown) => e);
    expect(calls).to.equal(1);
    expect((err as Error).message).to.equal("not found");
  });
});

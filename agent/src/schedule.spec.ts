import { expect } from "chai";
import { createBackoff } from "./schedule.js";

describe("reconnect backoff", () => {
  it("doubles up to the cap, with jitter between half and all of each step", () => {
    const low = createBackoff({ initialMs: 500, maxMs: 30_000, random: () => 0 });
    const high = createBackoff({ initialMs: 500, maxMs: 30_000, random: () => 1 });
    const lows = Array.from({ length: 10 }, () => low.next());
    const highs = Array.from({ length: 10 }, () => high.next());
    expect(highs).to.deep.equal([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
    expect(lows).to.deep.equal(highs.map((h) => h / 2));
  });

  it("starts over after a reset", () => {
    const b = createBackoff({ initialMs: 100, maxMs: 10_000, random: () => 1 });
    b.next();
    b.next();
    b.reset();
    expect(b.next()).to.equal(100);
  });

  it("spreads agents out: random delays differ", () => {
    const b = createBackoff({ initialMs: 1_000, maxMs: 30_000 });
    const delays = new Set(Array.from({ length: 20 }, () => (b.reset(), b.next())));
    expect(delays.size).to.be.greaterThan(10);
  });
});

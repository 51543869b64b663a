import { expect } from "chai";
import { ALLOWED_TRANSITIONS, canTransition, OUTCOME_STATUS } from "./lifecycle.js";
import { maskSecrets } from "../../nats/protocol/masking.js";
import { DEPLOYMENT_STATUSES } from "./views.js";

describe("deployment state machine", () => {
  it("allows exactly PENDING → RUNNING → terminal, and PENDING → FAILED | CANCELED", () => {
    const allowed = DEPLOYMENT_STATUSES.flatMap((from) =>
      DEPLOYMENT_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}→${to}`),
    );
    expect(allowed).to.deep.equal([
      "PENDING→RUNNING",
      "PENDING→FAILED",
      "PENDING→CANCELED",
      "RUNNING→SUCCEEDED",
      "RUNNING→FAILED",
      "RUNNING→CANCELED",
    ]);
  });

  it("never leaves a terminal status", () => {
    for (const s of ["SUCCEEDED", "FAILED", "CANCELED"] as const) expect(ALLOWED_TRANSITIONS[s]).to.deep.equal([]);
  });

  it("maps every agent outcome to a terminal status", () => {
    expect(OUTCOME_STATUS).to.deep.equal({
      succeeded: "SUCCEEDED",
      failed: "FAILED",
      timed_out: "FAILED",
      cancelled: "CANCELED",
    });
  });
});

describe("masking secret values in output", () => {
  it("replaces every occurrence, longest value first", () => {
    expect(maskSecrets("a=hunter2 b=hunter2x", ["hunter2", "hunter2x"])).to.equal("a=******** b=********");
  });
  it("leaves very short values alone (masking them would shred ordinary output)", () => {
    expect(maskSecrets("abc", ["ab"])).to.equal("abc");
  });
});

import { expect } from "chai";
import { ALLOWED_TRANSITIONS, canTransition, OUTCOME_STATUS, TERMINAL_STATUSES } from "./lifecycle.js";
import { roleMayApprove } from "./approvals.js";
import { initialStatus } from "./deployments.logic.js";
import { maskSecrets } from "../../nats/protocol/masking.js";
import { DEPLOYMENT_STATUSES } from "./views.js";

describe("deployment state machine", () => {
  it("allows exactly AWAITING_APPROVAL → PENDING | REJECTED | CANCELED, PENDING → RUNNING → terminal, PENDING → SUCCEEDED | FAILED | CANCELED", () => {
    const allowed = DEPLOYMENT_STATUSES.flatMap((from) =>
      DEPLOYMENT_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}→${to}`),
    );
    expect(allowed).to.deep.equal([
      "AWAITING_APPROVAL→PENDING",
      "AWAITING_APPROVAL→CANCELED",
      "AWAITING_APPROVAL→REJECTED",
      "PENDING→RUNNING",
      "PENDING→SUCCEEDED",
      "PENDING→FAILED",
      "PENDING→CANCELED",
      "RUNNING→SUCCEEDED",
      "RUNNING→FAILED",
      "RUNNING→CANCELED",
    ]);
  });

  it("never leaves a terminal status", () => {
    for (const s of ["SUCCEEDED", "FAILED", "CANCELED", "REJECTED"] as const)
      expect(ALLOWED_TRANSITIONS[s]).to.deep.equal([]);
    expect(TERMINAL_STATUSES).to.deep.equal(["SUCCEEDED", "FAILED", "CANCELED", "REJECTED"]);
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

describe("approvals and promotion", () => {
  it("lets the environment's approval role or an ORG_ADMIN decide, nobody else", () => {
    expect(roleMayApprove("APP_ADMIN", "APP_ADMIN")).to.equal(true);
    expect(roleMayApprove("ORG_ADMIN", "APP_ADMIN")).to.equal(true);
    expect(roleMayApprove("CLUSTER_ADMIN", "APP_ADMIN")).to.equal(false);
    expect(roleMayApprove("VIEWER", "APP_ADMIN")).to.equal(false);
    expect(roleMayApprove("APP_ADMIN", "ORG_ADMIN")).to.equal(false);
  });
  it("starts a deployment AWAITING_APPROVAL exactly when its environment requires approval", () => {
    expect(initialStatus({ approval_required: true })).to.equal("AWAITING_APPROVAL");
    expect(initialStatus({ approval_required: false })).to.equal("PENDING");
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

import { expect } from "chai";
import { decide } from "./failure-policy.js";

describe("failure policy: decide", () => {
  const deploy = { rollback_of: null };
  const last = { id: "dep-good" };
  const changed = { stackChanged: true };

  it("rolls back a failure that changed the swarm to the last successful deployment (the default policy)", () => {
    expect(decide("rollback", deploy, changed, last)).to.deep.equal({ action: "rollback", toDeploymentId: "dep-good" });
  });

  it("leaves the stack as it is with pause", () => {
    expect(decide("pause", deploy, changed, last)).to.deep.equal({ action: "none", reason: "pause" });
  });

  it("never rolls back what changed nothing, an agent stop, a failed automatic rollback, or with nothing earlier", () => {
    expect(decide("rollback", deploy, { stackChanged: false }, last)).to.deep.include({ reason: "unchanged" });
    // an older agent that does not say whether the swarm changed: no guess
    expect(decide("rollback", deploy, {}, last)).to.deep.include({ reason: "unchanged" });
    expect(decide("rollback", deploy, { ...changed, cause: "agent_stopped" }, last)).to.deep.include({
      reason: "agent_stopped",
    });
    expect(decide("rollback", { rollback_of: "dep-failed" }, changed, last)).to.deep.include({
      reason: "rollback_failed",
    });
    expect(decide("rollback", deploy, changed, null)).to.deep.include({ reason: "nothing_earlier" });
  });
});

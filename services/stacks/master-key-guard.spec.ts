import { expect } from "chai";
import sinon from "sinon";
import { AppError } from "../_shared/errors.js";
import { MasterKeyGuard } from "./master-key-guard.js";
import { MasterKeyConfigError } from "./secrets-crypto.js";

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const verified = { checkedKeyIds: ["k1"] };

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? (err as AppError & { type: string }).type : "not an AppError";
  }
  return undefined;
}

describe("MasterKeyGuard", () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  it("allows secret writes once the keys decrypt the stored secrets", async () => {
    const guard = new MasterKeyGuard(async () => verified);
    expect(codeOf(() => guard.assertUsable())).to.equal("MASTER_KEY_UNVERIFIED");
    await guard.start(quiet);
    expect(guard.state).to.equal("verified");
    expect(codeOf(() => guard.assertUsable())).to.equal(undefined);
  });

  it("fails the start on a wrong key", async () => {
    const guard = new MasterKeyGuard(async () => {
      throw new MasterKeyConfigError(['a secret is encrypted under master key "k0", which is not configured']);
    });
    let failure: unknown;
    await guard.start(quiet).catch((err: unknown) => (failure = err));
    expect(failure).to.be.instanceOf(MasterKeyConfigError);
    expect(codeOf(() => guard.assertUsable())).to.equal("MASTER_KEY_INVALID");
  });

  it("starts without a database and retries until it gets an answer", async () => {
    const verify = sinon.stub();
    verify.onFirstCall().rejects(new Error("connect ECONNREFUSED"));
    verify.onSecondCall().rejects(new Error("connect ECONNREFUSED"));
    verify.onThirdCall().resolves(verified);
    const guard = new MasterKeyGuard(verify, 1_000);
    await guard.start(quiet);
    expect(guard.state).to.equal("unverified");
    await clock.tickAsync(1_000);
    expect(verify.callCount).to.equal(2);
    await clock.tickAsync(1_000);
    expect(verify.callCount).to.equal(3);
    expect(guard.state).to.equal("verified");
    await clock.tickAsync(10_000);
    expect(verify.callCount).to.equal(3);
  });

  it("refuses writes for good when the key proves wrong after the database comes back", async () => {
    const verify = sinon.stub();
    verify.onFirstCall().rejects(new Error("connect ECONNREFUSED"));
    verify.onSecondCall().rejects(new MasterKeyConfigError(["wrong key"]));
    const guard = new MasterKeyGuard(verify, 1_000);
    await guard.start(quiet);
    await clock.tickAsync(1_000);
    expect(guard.state).to.equal("invalid");
    expect(codeOf(() => guard.assertUsable())).to.equal("MASTER_KEY_INVALID");
    await clock.tickAsync(10_000);
    expect(verify.callCount).to.equal(2);
  });

  it("stops retrying when stopped", async () => {
    const verify = sinon.stub().rejects(new Error("connect ECONNREFUSED"));
    const guard = new MasterKeyGuard(verify, 1_000);
    await guard.start(quiet);
    guard.stop();
    await clock.tickAsync(10_000);
    expect(verify.callCount).to.equal(1);
  });
});

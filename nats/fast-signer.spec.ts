import { expect } from "chai";
import { createAccount, fromSeed } from "nats-jwt";
import { nativeSigner } from "./fast-signer.js";

describe("nativeSigner", () => {
  it("signs exactly as the NKey library does, with the same public key", () => {
    for (let i = 0; i < 5; i++) {
      const seed = new TextDecoder().decode(createAccount().getSeed());
      const reference = fromSeed(new TextEncoder().encode(seed));
      const fast = nativeSigner(seed);
      const message = new TextEncoder().encode(`message ${i} ${seed.slice(0, 4)}`);
      expect(fast.getPublicKey()).to.equal(reference.getPublicKey());
      expect(Buffer.from(fast.sign(message)).toString("hex")).to.equal(
        Buffer.from(reference.sign(message)).toString("hex"),
      );
      expect(reference.verify(message, fast.sign(message))).to.equal(true);
    }
  });

  it("refuses what is not a seed", () => {
    expect(() => nativeSigner("not a seed")).to.throw();
  });
});

import { expect } from "chai";
import { jwtAuthenticator } from "nats";
import { createAccount, createOperator, createUser, fromSeed } from "nats-jwt";
import { nativeJwtAuthenticator, nativeSigner, nativeVerifier } from "./fast-signer.js";

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

  it("derives the public key of every kind of seed as the library does", () => {
    for (const make of [createUser, createAccount, createOperator]) {
      const seed = new TextDecoder().decode(make().getSeed());
      expect(nativeSigner(seed).getPublicKey()).to.equal(fromSeed(new TextEncoder().encode(seed)).getPublicKey());
      expect(nativeSigner(seed).getSeed()).to.deep.equal(new TextEncoder().encode(seed));
    }
  });

  it("refuses what is not a seed, or a seed whose checksum is wrong", () => {
    expect(() => nativeSigner("not a seed")).to.throw();
    const publicKey = createUser().getPublicKey();
    expect(() => nativeSigner(publicKey), "a public key").to.throw();
    const seed = new TextDecoder().decode(createUser().getSeed());
    // A character inside the key (the last one also holds padding bits, which decode to nothing).
    const changed = seed[20] === "A" ? "B" : "A";
    expect(() => nativeSigner(seed.slice(0, 20) + changed + seed.slice(21))).to.throw(/checksum/);
  });
});

describe("nativeVerifier", () => {
  it("accepts exactly the signatures the NKey library accepts", () => {
    for (let i = 0; i < 5; i++) {
      const reference = createAccount();
      const message = new TextEncoder().encode(`message ${i}`);
      const sig = reference.sign(message);
      const verifier = nativeVerifier(reference.getPublicKey());
      expect(verifier.verify(message, sig)).to.equal(true);
      const tampered = Uint8Array.from(message);
      tampered[0] = tampered[0]! ^ 1;
      expect(verifier.verify(tampered, sig), "another message").to.equal(false);
      expect(reference.verify(tampered, sig)).to.equal(false);
      const forged = Uint8Array.from(sig);
      forged[10] = forged[10]! ^ 1;
      expect(verifier.verify(message, forged), "a changed signature").to.equal(false);
      expect(verifier.verify(message, sig.subarray(0, 63)), "a short signature").to.equal(false);
      // another key's signature of the same message
      expect(verifier.verify(message, createAccount().sign(message))).to.equal(false);
    }
  });

  it("refuses what is not a public key, or one whose checksum is wrong", () => {
    expect(() => nativeVerifier("not a key")).to.throw();
    const key = createAccount().getPublicKey();
    const last = key.at(-1) === "A" ? "B" : "A";
    expect(() => nativeVerifier(key.slice(0, -1) + last)).to.throw();
  });
});

describe("nativeJwtAuthenticator", () => {
  it("answers the server's nonce exactly as nats.js's jwtAuthenticator does, reading the JWT at each connect", () => {
    const seed = createUser().getSeed();
    let jwt = "first.jwt";
    const fast = nativeJwtAuthenticator(() => jwt, seed);
    const reference = jwtAuthenticator(() => jwt, seed);
    for (const nonce of ["abc", "nonce-2", "x".repeat(22)]) expect(fast(nonce)).to.deep.equal(reference(nonce));
    jwt = "renewed.jwt";
    expect(fast("n")).to.deep.equal(reference("n"));
    expect(fast("n")).to.include({ jwt: "renewed.jwt" });
  });
});

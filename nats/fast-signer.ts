/**
 * An NKey signer that signs with Node's native Ed25519 instead of the pure-JS one bundled in nats-jwt: minting an
 * agent's JWT at registration took ~90 ms of CPU there (the fleet bench's registration rate was 2.7/s), and takes
 * well under a millisecond here. Ed25519 signatures are deterministic, so the bytes are the same.
 */
import { createPrivateKey, sign, type KeyObject } from "node:crypto";
import { fromSeed, type KeyPair } from "nats-jwt";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/** PKCS#8 DER header of an Ed25519 private key; the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

function base32Decode(text: string): Buffer {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const index = BASE32.indexOf(ch);
    if (index < 0) throw new Error("an NKey seed is base32");
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The 32-byte Ed25519 seed inside an encoded NKey seed (`S` + type, then the seed, then a CRC-16). */
export function rawSeedOf(seed: string): Buffer {
  const decoded = base32Decode(seed);
  if (decoded.length !== 36) throw new Error("an NKey seed decodes to 36 bytes");
  return decoded.subarray(2, 34);
}

const signers = new Map<string, KeyPair>();

/**
 * The same key pair as `fromSeed(seed)` (it still checks the seed), whose `sign` is native and whose public key is
 * derived once (nats-jwt derives them again, in JS, on every call). Kept per seed: there are only the few signing
 * keys of this installation.
 */
export function nativeSigner(seed: string): KeyPair {
  let signer = signers.get(seed);
  if (signer === undefined) {
    signer = createNativeSigner(seed);
    signers.set(seed, signer);
  }
  return signer;
}

function createNativeSigner(seed: string): KeyPair {
  const kp = fromSeed(new TextEncoder().encode(seed));
  const publicKey = kp.getPublicKey();
  const privateKey = kp.getPrivateKey();
  const key: KeyObject = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, rawSeedOf(seed)]),
    format: "der",
    type: "pkcs8",
  });
  return {
    getPublicKey: () => publicKey,
    // nats-jwt asks for it on every mint, only to check the key can sign.
    getPrivateKey: () => privateKey,
    getSeed: () => kp.getSeed(),
    verify: (input, sig) => kp.verify(input, sig),
    // Shared by every mint: clearing it would break the next one.
    clear: () => undefined,
    sign: (input) => new Uint8Array(sign(null, input, key)),
  };
}

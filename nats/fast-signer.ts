/**
 * NKey signing and verifying with Node's native Ed25519 instead of the pure-JS one bundled in nats-jwt and nkeys.js:
 * minting an agent's JWT at registration took ~90 ms of CPU there (the fleet bench's registration rate was 2.7/s),
 * and signing or verifying a 4 KB deploy command took ~9 ms each on this machine, against 0.05 and 0.1 ms here.
 * Ed25519 signatures are deterministic, so the bytes are the same.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import type { Authenticator } from "nats";
import { fromPublic, fromSeed, type KeyPair } from "nats-jwt";
import { BASE32_ALPHABET, base32Encode } from "./base32.js";

/** PKCS#8 DER header of an Ed25519 private key; the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
/** SPKI DER header of an Ed25519 public key; the 32-byte key follows. */
const SPKI_ED25519_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

function base32Decode(text: string): Buffer {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const index = BASE32_ALPHABET.indexOf(ch);
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

/** CRC-16/XMODEM, the checksum an encoded NKey ends with (little-endian). */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** An encoded NKey (seed or public key) from its bytes: the bytes, their CRC-16 (little-endian), in base32. */
export function encodeNKey(body: Uint8Array): string {
  const full = new Uint8Array(body.length + 2);
  full.set(body);
  const crc = crc16(body);
  full[body.length] = crc & 0xff;
  full[body.length + 1] = crc >> 8;
  return base32Encode(full);
}

/** The first byte of every encoded seed, before its type's high bits (the NKey library's PrefixByte.Seed). */
export const SEED_PREFIX = 18 << 3;

/** An encoded NKey seed taken apart: its key type (user, account, operator…) and its 32-byte Ed25519 seed. */
function decodeSeed(seed: string): { type: number; raw: Buffer } {
  const decoded = base32Decode(seed);
  if (decoded.length !== 36) throw new Error("an NKey seed decodes to 36 bytes");
  if ((decoded[0]! & 0xf8) !== SEED_PREFIX) throw new Error("not an NKey seed");
  if (crc16(decoded.subarray(0, 34)) !== decoded.readUInt16LE(34)) throw new Error("an NKey seed's checksum is wrong");
  return { type: ((decoded[0]! & 7) << 5) | (decoded[1]! >> 3), raw: decoded.subarray(2, 34) };
}

/** The 32-byte Ed25519 seed inside an encoded NKey seed (`S` + type, then the seed, then a CRC-16). */
export function rawSeedOf(seed: string): Buffer {
  return decodeSeed(seed).raw;
}

/** The public NKey of a seed, derived natively: a type byte, the 32-byte Ed25519 public key, a CRC-16. */
function publicKeyOf(type: number, privateKey: KeyObject): string {
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  return encodeNKey(Buffer.concat([Buffer.from([type]), spki.subarray(SPKI_ED25519_PREFIX.length)]));
}

/** The 32-byte Ed25519 key inside an encoded public NKey (a type byte, then the key, then a CRC-16). */
function rawPublicKeyOf(publicKey: string): Buffer {
  const decoded = base32Decode(publicKey);
  if (decoded.length !== 35) throw new Error("a public NKey decodes to 35 bytes");
  return decoded.subarray(1, 33);
}

export interface NativeVerifier {
  /** False for a signature that does not match, or is not 64 bytes. */
  verify(input: Uint8Array, sig: Uint8Array): boolean;
}

/**
 * Verifies signatures of one public NKey (checked once by the NKey library: type and CRC). Kept per key, and the
 * cache starts over past MAX_CACHED_VERIFIERS: the control plane verifies renewals of every agent of the fleet.
 */
export function nativeVerifier(publicKey: string): NativeVerifier {
  let verifier = verifiers.get(publicKey);
  if (verifier === undefined) {
    fromPublic(publicKey);
    const key = createPublicKey({
      key: Buffer.concat([SPKI_ED25519_PREFIX, rawPublicKeyOf(publicKey)]),
      format: "der",
      type: "spki",
    });
    verifier = { verify: (input, sig) => sig.length === 64 && verify(null, input, key, sig) };
    if (verifiers.size >= MAX_CACHED_VERIFIERS) verifiers.clear();
    verifiers.set(publicKey, verifier);
  }
  return verifier;
}

const MAX_CACHED_VERIFIERS = 10_000;
const verifiers = new Map<string, NativeVerifier>();
const signers = new Map<string, KeyPair>();

/**
 * The same key pair as `fromSeed(seed)` (the seed's prefix and checksum checked as the library does), whose `sign`
 * is native and whose public key is derived once, natively (nats-jwt derives them again, in JS, on every call).
 * Kept per seed, unbounded: a control plane holds the few signing keys of its installation and an agent its own
 * seed; only the fleet simulator holds one per simulated agent.
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
  const { type, raw } = decodeSeed(seed);
  const key: KeyObject = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, raw]),
    format: "der",
    type: "pkcs8",
  });
  const publicKey = publicKeyOf(type, key);
  // The library's own key pair, only for what is not on a hot path: deriving it costs ~10 ms of JS, which a
  // connect (public key + nonce signature) no longer pays.
  let library: KeyPair | undefined;
  const kp = () => (library ??= fromSeed(new TextEncoder().encode(seed)));
  return {
    getPublicKey: () => publicKey,
    // nats-jwt asks for it on every mint, only to check the key can sign.
    getPrivateKey: () => kp().getPrivateKey(),
    getSeed: () => kp().getSeed(),
    verify: (input, sig) => kp().verify(input, sig),
    // Shared by every mint: clearing it would break the next one.
    clear: () => undefined,
    sign: (input) => new Uint8Array(sign(null, input, key)),
  };
}

/**
 * nats.js's `jwtAuthenticator(jwt, seed)`, the server's nonce signed natively: the library derives the key pair
 * and signs in JS on every connect and reconnect, ~10 ms of CPU each, which one process simulating a fleet
 * reconnecting at once (bench/fleet) paid 10,000 times over.
 */
export function nativeJwtAuthenticator(jwt: string | (() => string), seed: string | Uint8Array): Authenticator {
  const seedText = typeof seed === "string" ? seed : new TextDecoder().decode(seed);
  // As the library does: the JWT (a renewed one) and the key are read at each connect, not when this is made.
  return (nonce?: string) => {
    const signer = nativeSigner(seedText);
    return {
      jwt: typeof jwt === "function" ? jwt() : jwt,
      nkey: signer.getPublicKey(),
      sig: nonce ? Buffer.from(signer.sign(new TextEncoder().encode(nonce))).toString("base64") : "",
    };
  };
}

/**
 * Values sealed to one agent: the control plane encrypts each secret value (and registry credential) to the
 * agent's X25519 public key, so what crosses NATS and sits in JetStream is ciphertext that only the agent host can
 * open. Signing the command envelope says who sent it; sealing says who can read it.
 *
 * Construction (one ephemeral key per value, Node's crypto only):
 *   shared = X25519(ephemeral private, agent public)
 *   key    = HKDF-SHA256(ikm = shared, salt = epk ‖ agent public, info = "stackyard-seal/v1 " + kid, 32 bytes)
 *   ct     = AES-256-GCM(key, 12-byte random iv, value, aad) ‖ 16-byte tag
 *   aad    = "stackyard-seal/v1\n" + kid + "\n" + epk + "\n" + context
 * `kid` names the agent key (so a value sealed to an older key of a re-registered agent is refused by name, not as
 * garbage), and `context` binds the value to its cluster, deployment, kind and name: a sealed value cut from one
 * command and pasted into another, or under another secret's name, does not open.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createCipheriv,
  createDecipheriv,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from "node:crypto";
import { SEAL_KEY_PATTERN, type SealedValue } from "./schema.js";

export const SEAL_VERSION = 1;
const LABEL = "stackyard-seal/v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEAL_KEY = new RegExp(SEAL_KEY_PATTERN);

export { SEAL_KEY_PATTERN, type SealedValue };

export interface SealKeyPair {
  /** Raw X25519 public key, base64url (43 chars): sent at registration, stored by the control plane. */
  publicKey: string;
  /** Raw X25519 private key, base64url: never leaves the agent's state directory. */
  privateKey: string;
}

/** What a value is for, bound into its AAD. Both sides build it from the command they send or received. */
export interface SealContext {
  clusterId: string;
  deploymentId: string;
  /** `secret` (a Swarm secret's value), `registry` (a registry credential) or `git` (a build's git connection). */
  kind: "secret" | "registry" | "git";
  /** The Swarm secret name, or the registry host. */
  name: string;
}

export const SEAL_ERROR_CODES = ["SEAL_KEY_INVALID", "SEAL_WRONG_KEY", "SEAL_INVALID"] as const;
export type SealErrorCode = (typeof SEAL_ERROR_CODES)[number];

/** Why a value cannot be sealed or opened; `message` never contains key material or plaintext. */
export class SealError extends Error {
  override name = "SealError";
  constructor(
    readonly code: SealErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const b64 = (buf: Uint8Array): string => Buffer.from(buf).toString("base64url");
const unb64 = (s: string, what: string, bytes?: number): Buffer => {
  const buf = Buffer.from(s, "base64url");
  if (buf.toString("base64url") !== s || (bytes !== undefined && buf.length !== bytes)) {
    throw new SealError(
      "SEAL_INVALID",
      `sealed value: ${what} is not valid base64url${bytes ? ` of ${bytes} bytes` : ""}`,
    );
  }
  return buf;
};

export function createSealKeyPair(): SealKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("x25519");
  const jwk = privateKey.export({ format: "jwk" });
  return { publicKey: publicKey.export({ format: "jwk" }).x!, privateKey: jwk.d! };
}

export function isSealPublicKey(value: string): boolean {
  return SEAL_KEY.test(value);
}

/** A short, stable name of an agent's public key (16 hex chars of its SHA-256). */
export function sealKeyId(publicKey: string): string {
  return createHash("sha256").update(Buffer.from(publicKey, "base64url")).digest("hex").slice(0, 16);
}

function importPublic(publicKey: string): KeyObject {
  if (!SEAL_KEY.test(publicKey)) throw new SealError("SEAL_KEY_INVALID", "the agent's seal key is not an X25519 key");
  try {
    return createPublicKey({ key: { kty: "OKP", crv: "X25519", x: publicKey }, format: "jwk" });
  } catch {
    throw new SealError("SEAL_KEY_INVALID", "the agent's seal key is not an X25519 key");
  }
}

function importPrivate(keys: SealKeyPair): KeyObject {
  if (!SEAL_KEY.test(keys.privateKey) || !SEAL_KEY.test(keys.publicKey)) {
    throw new SealError("SEAL_KEY_INVALID", "the agent's seal key pair is malformed");
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({
      key: { kty: "OKP", crv: "X25519", x: keys.publicKey, d: keys.privateKey },
      format: "jwk",
    });
  } catch {
    throw new SealError("SEAL_KEY_INVALID", "the agent's seal key pair is malformed");
  }
  // A JWK import does not check that x belongs to d: a mismatched pair would derive keys nobody sealed to.
  if (createPublicKey(key).export({ format: "jwk" }).x !== keys.publicKey) {
    throw new SealError("SEAL_KEY_INVALID", "the agent's seal private key does not belong to its public key");
  }
  return key;
}

/** Throws SealError unless `keys` is a well-formed X25519 pair whose halves belong together. */
export function assertSealKeyPair(keys: SealKeyPair): void {
  importPrivate(keys);
}

function contextString(ctx: SealContext): string {
  // JSON of a fixed field order: unambiguous whatever characters the names hold.
  return JSON.stringify([ctx.clusterId, ctx.deploymentId, ctx.kind, ctx.name]);
}

function deriveKey(shared: Buffer, epk: Buffer, recipient: Buffer, kid: string): Buffer {
  return Buffer.from(hkdfSync("sha256", shared, Buffer.concat([epk, recipient]), `${LABEL} ${kid}`, 32));
}

const aadOf = (kid: string, epk: string, ctx: SealContext) =>
  Buffer.from(`${LABEL}\n${kid}\n${epk}\n${contextString(ctx)}`, "utf8");

/** Seals `value` to the agent key `publicKey` for `ctx`. */
export function seal(value: string | Uint8Array, publicKey: string, ctx: SealContext): SealedValue {
  const recipient = importPublic(publicKey);
  const ephemeral = generateKeyPairSync("x25519");
  const epkRaw = Buffer.from(ephemeral.publicKey.export({ format: "jwk" }).x!, "base64url");
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient });
  const kid = sealKeyId(publicKey);
  const key = deriveKey(shared, epkRaw, Buffer.from(publicKey, "base64url"), kid);
  const iv = randomBytes(IV_BYTES);
  const epk = b64(epkRaw);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(aadOf(kid, epk, ctx));
  const plain = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
  const ct = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return { v: SEAL_VERSION, kid, epk, iv: b64(iv), ct: b64(ct) };
}

/** Opens a value sealed to `keys` for `ctx`; throws SealError when it was sealed elsewhere or changed on the way. */
export function open(sealed: SealedValue, keys: SealKeyPair, ctx: SealContext): Buffer {
  const privateKey = importPrivate(keys);
  const kid = sealKeyId(keys.publicKey);
  if (sealed.v !== SEAL_VERSION)
    throw new SealError("SEAL_INVALID", `sealed value: unknown version ${String(sealed.v)}`);
  if (sealed.kid !== kid) {
    throw new SealError(
      "SEAL_WRONG_KEY",
      `sealed to agent key ${sealed.kid}, but this agent's key is ${kid}: the agent was re-registered; deploy again`,
    );
  }
  const epkRaw = unb64(sealed.epk, "epk", 32);
  const iv = unb64(sealed.iv, "iv", IV_BYTES);
  const ct = unb64(sealed.ct, "ct");
  if (ct.length < TAG_BYTES) throw new SealError("SEAL_INVALID", "sealed value: ciphertext too short");
  let shared: Buffer;
  try {
    const epk = createPublicKey({ key: { kty: "OKP", crv: "X25519", x: sealed.epk }, format: "jwk" });
    shared = diffieHellman({ privateKey, publicKey: epk });
  } catch {
    throw new SealError("SEAL_INVALID", "sealed value: the ephemeral key is not a valid X25519 key");
  }
  const key = deriveKey(shared, epkRaw, Buffer.from(keys.publicKey, "base64url"), kid);
  const decipher = createDecipheriv("aes-256-gcm", key, iv);
  decipher.setAAD(aadOf(kid, sealed.epk, ctx));
  decipher.setAuthTag(ct.subarray(ct.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(ct.subarray(0, ct.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SealError(
      "SEAL_INVALID",
      `sealed value for ${ctx.kind} ${ctx.name} does not open: changed in transit, or sealed for another command`,
    );
  }
}

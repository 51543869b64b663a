/**
 * Deploy keys: ed25519 key pairs made with Node's crypto, written in OpenSSH's own formats (the public key line a
 * forge accepts, and the unencrypted `openssh-key-v1` private key file `ssh -i` reads). Only the 32-byte seed is
 * kept (encrypted); the private key file is rebuilt for each git run and deleted afterwards.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";

const KEY_TYPE = "ssh-ed25519";
const ED25519_KEY_BYTES = 32;
/** DER prefix of a PKCS#8 ed25519 private key; the seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export interface Ed25519KeyPair {
  /** The private seed (RFC 8032 private key): secret. */
  seed: Buffer;
  publicKey: Buffer;
}

export function generateEd25519KeyPair(): Ed25519KeyPair {
  const { privateKey } = generateKeyPairSync("ed25519");
  const jwk = privateKey.export({ format: "jwk" });
  if (typeof jwk.d !== "string" || typeof jwk.x !== "string") throw new Error("ed25519 JWK export lacks d or x");
  return { seed: Buffer.from(jwk.d, "base64url"), publicKey: Buffer.from(jwk.x, "base64url") };
}

/** The public key of a seed (so only the seed needs storing). */
export function publicKeyOfSeed(seed: Buffer): Buffer {
  if (seed.length !== ED25519_KEY_BYTES) throw new Error("an ed25519 seed is 32 bytes");
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" });
  const jwk = createPublicKey(key).export({ format: "jwk" });
  if (typeof jwk.x !== "string") throw new Error("ed25519 JWK export lacks x");
  return Buffer.from(jwk.x, "base64url");
}

function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function uint32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

/** The SSH wire encoding of the public key (what fingerprints and known_hosts lines are made of). */
export function publicKeyBlob(publicKey: Buffer): Buffer {
  return Buffer.concat([sshString(KEY_TYPE), sshString(publicKey)]);
}

/** `ssh-ed25519 AAAA… <comment>`: the line to paste into the forge's deploy keys. */
export function openSshPublicKey(publicKey: Buffer, comment: string): string {
  return `${KEY_TYPE} ${publicKeyBlob(publicKey).toString("base64")} ${comment}`;
}

/** `SHA256:<base64, no padding>` of a public key blob, as `ssh-keygen -l` and sshd's logs print it. */
export function sha256Fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The unencrypted OpenSSH private key file (PROTOCOL.key), for `IdentityFile`. Secret: write it 0600. */
export function openSshPrivateKey(seed: Buffer, comment: string): string {
  const publicKey = publicKeyOfSeed(seed);
  const check = randomBytes(4);
  let privateSection = Buffer.concat([
    check,
    check,
    sshString(KEY_TYPE),
    sshString(publicKey),
    sshString(Buffer.concat([seed, publicKey])),
    sshString(comment),
  ]);
  const padding: number[] = [];
  for (let i = 1; (privateSection.length + padding.length) % 8 !== 0; i++) padding.push(i);
  privateSection = Buffer.concat([privateSection, Buffer.from(padding)]);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0", "latin1"),
    sshString("none"),
    sshString("none"),
    sshString(Buffer.alloc(0)),
    uint32(1),
    sshString(publicKeyBlob(publicKey)),
    sshString(privateSection),
  ]);
  const lines = body.toString("base64").match(/.{1,70}/g) ?? [];
  privateSection.fill(0);
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join("\n")}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

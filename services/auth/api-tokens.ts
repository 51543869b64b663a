/** API token format `stk_<prefix>_<secret>`: the prefix finds the row, the secret is only ever stored hashed. */
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";

const PREFIX_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
export const TOKEN_PREFIX_LENGTH = 12;
/** 32 random bytes: 256 bits in the secret. */
export const TOKEN_SECRET_BYTES = 32;

export interface ApiTokenParts {
  prefix: string;
  secret: string;
}

function randomPrefix(): string {
  const bytes = randomBytes(TOKEN_PREFIX_LENGTH);
  let out = "";
  // 256 % 56 != 0 gives a tiny bias; the prefix is an identifier, not the secret.
  for (const b of bytes) out += PREFIX_ALPHABET[b % PREFIX_ALPHABET.length];
  return out;
}

export function generateApiToken(): ApiTokenParts & { token: string } {
  const prefix = randomPrefix();
  const secret = randomBytes(TOKEN_SECRET_BYTES).toString("base64url");
  return { prefix, secret, token: `stk_${prefix}_${secret}` };
}

const TOKEN_PATTERN = /^stk_([A-Za-z0-9]{8,32})_([A-Za-z0-9_-]{32,128})$/;

export function parseApiToken(token: string): ApiTokenParts | null {
  const match = TOKEN_PATTERN.exec(token);
  if (!match) return null;
  return { prefix: match[1]!, secret: match[2]! };
}

export const isApiTokenShaped = (token: string): boolean => token.startsWith("stk_");

/** Cache key for a presented credential: never keep the credential itself in memory longer than needed. */
export const credentialFingerprint = (credential: string): string =>
  createHash("sha256").update(credential).digest("base64url");

/**
 * The secret is 256 random bits, so a keyed hash is as strong as a password hash and costs microseconds instead
 * of 64 MiB of argon2 per request (a cheap way to stall the gateway with guesses behind a known prefix).
 * The HMAC keys are derived from the access-token signing keys; the stored hash names its key id, so rotating
 * keys keeps older tokens valid while their key is still configured.
 */
export interface TokenHashKey {
  kid: string;
  key: Buffer;
}

export function tokenHashKeys(signingKeys: ReadonlyArray<{ kid: string; secret: Buffer }>): TokenHashKey[] {
  return signingKeys.map(({ kid, secret }) => ({
    kid,
    key: Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), "stackyard api-token hmac v1", 32)),
  }));
}

const HMAC_PREFIX = "hmac-sha256";
const mac = (key: Buffer, secret: string): Buffer => createHmac("sha256", key).update(secret).digest();

export function hashTokenSecret(keys: readonly TokenHashKey[], secret: string): string {
  const active = keys[0];
  if (!active) throw new Error("no API token hash key configured");
  return `${HMAC_PREFIX}:${active.kid}:${mac(active.key, secret).toString("base64url")}`;
}

/** "legacy": an argon2 hash from before keyed hashes; the caller verifies it the slow way once and upgrades it. */
export function verifyTokenSecret(keys: readonly TokenHashKey[], stored: string, secret: string): boolean | "legacy" {
  if (stored.startsWith("$argon2")) return "legacy";
  const [scheme, kid, digest] = stored.split(":");
  const key = keys.find((k) => k.kid === kid);
  if (scheme !== HMAC_PREFIX || !key || !digest) return false;
  const expected = Buffer.from(digest, "base64url");
  const actual = mac(key.key, secret);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

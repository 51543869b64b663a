/** API token format `stk_<prefix>_<secret>`: the prefix finds the row, the secret is only ever stored hashed. */
import { createHash, randomBytes } from "node:crypto";

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

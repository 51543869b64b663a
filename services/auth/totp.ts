/**
 * TOTP (RFC 6238) over HOTP (RFC 4226) with node:crypto: HMAC-SHA-1, 6 digits, 30-second steps, and a window of
 * one step either side for clock skew. Secrets are 160 random bits (RFC 4226's recommended length), shown to
 * authenticator apps in base32 (RFC 4648) inside an `otpauth://totp/` URI.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { BASE32_ALPHABET, base32Encode } from "../../nats/base32.js";

export { base32Encode };

export const TOTP_DIGITS = 6;
export const TOTP_STEP_SECONDS = 30;
/** Steps accepted either side of the current one (±30 s of clock skew). */
export const TOTP_WINDOW_STEPS = 1;
export const TOTP_SECRET_BYTES = 20;

export function base32Decode(text: string): Buffer {
  const clean = text.replace(/[\s=-]/g, "").toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const index = BASE32_ALPHABET.indexOf(ch);
    if (index < 0) throw new Error("not base32");
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export const newTotpSecret = (): Buffer => randomBytes(TOTP_SECRET_BYTES);

/** HOTP value of `counter` (RFC 4226 §5.3: dynamic truncation of HMAC(secret, counter as 8 bytes big-endian)). */
export function hotp(
  secret: Buffer,
  counter: number,
  digits = TOTP_DIGITS,
  algorithm: "sha1" | "sha256" | "sha512" = "sha1",
): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(algorithm, secret).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return binary.toString().padStart(digits, "0");
}

export const totpStep = (unixMs: number): number => Math.floor(unixMs / 1000 / TOTP_STEP_SECONDS);

export function totp(
  secret: Buffer,
  unixMs: number,
  digits = TOTP_DIGITS,
  algorithm: "sha1" | "sha256" | "sha512" = "sha1",
): string {
  return hotp(secret, totpStep(unixMs), digits, algorithm);
}

/**
 * The time step `code` is valid for within the window around `unixMs`, or null. Every candidate is compared in
 * constant time; the caller must still refuse a step already used (replay within the window).
 */
export function matchTotp(secret: Buffer, code: string, unixMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const presented = Buffer.from(code);
  const now = totpStep(unixMs);
  let matched: number | null = null;
  for (let step = now - TOTP_WINDOW_STEPS; step <= now + TOTP_WINDOW_STEPS; step++) {
    if (timingSafeEqual(Buffer.from(hotp(secret, step)), presented) && matched === null) matched = step;
  }
  return matched;
}

/** The key URI authenticator apps read (Google Authenticator's Key-Uri-Format): issuer and account label. */
export function otpauthUri(secret: Buffer, issuer: string, account: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const params = new URLSearchParams({
    secret: base32Encode(secret),
    issuer,
    algorithm: "SHA1",
    digits: String(TOTP_DIGITS),
    period: String(TOTP_STEP_SECONDS),
  });
  return `otpauth://totp/${label}?${params.toString()}`;
}

/**
 * How a delivery is signed, so a receiver can tell it came from this installation and was not replayed:
 * `X-Stackyard-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with the Unix-seconds
 * `X-Stackyard-Timestamp` it covers (a receiver refuses old timestamps). The same scheme as Stripe's and Slack's.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-stackyard-signature";
export const TIMESTAMP_HEADER = "x-stackyard-timestamp";
export const EVENT_TYPE_HEADER = "x-stackyard-event";
export const DELIVERY_HEADER = "x-stackyard-delivery";

const SECRET_PREFIX = "whsec_";

/** A new signing secret: 32 random bytes, shown to the user once. */
export function newSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString("base64url");
}

export function signatureOf(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** What a receiver does (and what the tests do as one): constant-time comparison of the expected signature. */
export function verifySignature(secret: string, timestamp: number, body: string, header: string): boolean {
  const expected = Buffer.from(signatureOf(secret, timestamp, body));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

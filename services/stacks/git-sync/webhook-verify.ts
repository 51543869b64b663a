/**
 * Inbound git webhooks: which forge sent one, whether it carries the source's secret, and its delivery id.
 * The signature is computed over the raw body bytes as received (never re-serialised JSON), and every comparison
 * is constant-time. None of the forges signs a timestamp, so replays are stopped by delivery id (see
 * git-sync.logic.ts) rather than by age. Pure: no I/O.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { UnauthorizedError } from "../../_shared/errors.js";

export type WebhookProvider = "github" | "gitlab" | "gitea" | "generic";

export type WebhookHeaders = Record<string, string | undefined>;

/** The header names read here (lower case): the gateway passes these and nothing else. */
export const WEBHOOK_HEADERS = [
  "x-hub-signature-256",
  "x-github-delivery",
  "x-github-event",
  "x-gitlab-token",
  "x-gitlab-event",
  "x-gitlab-event-uuid",
  "idempotency-key",
  "x-gitea-signature",
  "x-gitea-delivery",
  "x-gitea-event",
  "x-stackyard-signature-256",
  "x-stackyard-delivery",
] as const;

export interface VerifiedDelivery {
  provider: WebhookProvider;
  /** The forge's delivery id, or the body's sha256 when it sends none (a byte-identical resend is a replay). */
  deliveryId: string;
  /** GitHub's `ping` on hook creation: verified, but nothing to sync. */
  ping: boolean;
}

export class WebhookSignatureError extends UnauthorizedError {
  constructor(message: string) {
    super("WEBHOOK_SIGNATURE_INVALID", message);
    this.name = "WebhookSignatureError";
  }
}

const hmacHex = (secret: string, body: Buffer): string => createHmac("sha256", secret).update(body).digest("hex");

/** Constant-time for equal lengths; a length difference says nothing about the secret. */
function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

function checkHexSignature(header: string, secret: string, body: Buffer, prefix: string): boolean {
  if (!header.startsWith(prefix)) return false;
  const given = header.slice(prefix.length).toLowerCase();
  return /^[0-9a-f]{64}$/.test(given) && sameText(given, hmacHex(secret, body));
}

export function detectProvider(headers: WebhookHeaders): WebhookProvider | null {
  if (headers["x-gitea-signature"] !== undefined) return "gitea";
  if (headers["x-hub-signature-256"] !== undefined) return "github";
  if (headers["x-gitlab-token"] !== undefined) return "gitlab";
  if (headers["x-stackyard-signature-256"] !== undefined) return "generic";
  return null;
}

/** Throws WebhookSignatureError unless the delivery carries `secret`; returns the delivery's identity. */
export function verifyWebhook(headers: WebhookHeaders, body: Buffer, secret: string): VerifiedDelivery {
  const provider = detectProvider(headers);
  if (provider === null) {
    throw new WebhookSignatureError(
      "no signature: send X-Hub-Signature-256 (GitHub), X-Gitlab-Token (GitLab), X-Gitea-Signature (Gitea) or X-Stackyard-Signature-256",
    );
  }
  let ok: boolean;
  let deliveryHeader: string | undefined;
  switch (provider) {
    case "github":
      ok = checkHexSignature(headers["x-hub-signature-256"] ?? "", secret, body, "sha256=");
      deliveryHeader = headers["x-github-delivery"];
      break;
    case "gitea":
      // Gitea sends the bare hex digest (it also sends X-Hub-Signature-256 with the prefix; this one is enough).
      ok = checkHexSignature(headers["x-gitea-signature"] ?? "", secret, body, "");
      deliveryHeader = headers["x-gitea-delivery"];
      break;
    case "gitlab":
      // GitLab signs nothing: the token is the secret itself, compared as digests so lengths leak nothing.
      ok = sameText(digest(headers["x-gitlab-token"] ?? ""), digest(secret));
      deliveryHeader = headers["idempotency-key"] ?? headers["x-gitlab-event-uuid"];
      break;
    case "generic":
      ok = checkHexSignature(headers["x-stackyard-signature-256"] ?? "", secret, body, "sha256=");
      deliveryHeader = headers["x-stackyard-delivery"];
      break;
  }
  if (!ok) throw new WebhookSignatureError("the webhook signature does not match this source's secret");
  const deliveryId =
    deliveryHeader !== undefined && /^[A-Za-z0-9._:-]{1,128}$/.test(deliveryHeader)
      ? `${provider}:${deliveryHeader}`
      : `${provider}:sha256:${digest(body)}`;
  return { provider, deliveryId, ping: provider === "github" && headers["x-github-event"] === "ping" };
}

function digest(value: string | Buffer): string {
  return createHash("sha256").update(value).digest("hex");
}

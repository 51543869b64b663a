/** What the gateway needs to hand a webhook delivery on: the header names and the meta shape. */
export { WEBHOOK_HEADERS, type WebhookHeaders } from "./webhook-verify.js";

/** `ctx.meta.webhook` of a delivery: the raw body and the forge's headers the verifier reads. */
export interface WebhookMeta {
  bodyBase64: string;
  headers: Record<string, string | undefined>;
}

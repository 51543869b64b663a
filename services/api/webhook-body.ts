/**
 * The raw body of an inbound git webhook: its signature covers the exact bytes, so this route is never parsed as
 * JSON. Read up to WEBHOOK_BODY_LIMIT_BYTES (past it: 413 BODY_TOO_LARGE, before anything is verified or done)
 * and handed to the stacks service in `ctx.meta.webhook` as base64 with the forge's headers — under the NATS
 * payload limit with room for the rest of the message.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { PayloadTooLargeError } from "../_shared/errors.js";

export const WEBHOOK_BODY_LIMIT_BYTES = 256 * 1024;
export const WEBHOOK_PATH_PREFIX = "/v1/webhooks/git/";

export type WebhookRequest = IncomingMessage & { $webhookBody?: Buffer; body?: unknown };

export const isWebhookRequest = (req: IncomingMessage): boolean =>
  req.method === "POST" && (req.url ?? "").startsWith(WEBHOOK_PATH_PREFIX);

export function webhookBodyReader(limitBytes = WEBHOOK_BODY_LIMIT_BYTES) {
  return (req: WebhookRequest, _res: ServerResponse, next: (err?: unknown) => void): void => {
    const declared = Number(req.headers["content-length"] ?? "0");
    const tooLarge = () =>
      new PayloadTooLargeError("BODY_TOO_LARGE", `the webhook body exceeds ${limitBytes} bytes`, { limitBytes });
    if (Number.isFinite(declared) && declared > limitBytes) {
      req.resume();
      next(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limitBytes) {
        done = true;
        next(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      req.$webhookBody = Buffer.concat(chunks);
      req.body = {};
      next();
    });
    req.on("error", (err) => {
      if (done) return;
      done = true;
      next(err);
    });
  };
}

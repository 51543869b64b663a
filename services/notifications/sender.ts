/**
 * One signed POST to an endpoint, connected to the address the SSRF guard checked (never a fresh DNS answer), no
 * redirect followed, bounded in time. The outcome says what the receiver answered; nothing of the receiver's body
 * is kept (it may echo anything), nor the URL (a Slack webhook URL is a credential).
 */
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import type { CheckedTarget } from "./host-check.js";
import { DELIVERY_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signatureOf } from "./signature.js";

export interface SendRequest {
  target: CheckedTarget;
  body: string;
  secret: string;
  eventType: string;
  deliveryId: string;
  timeoutMs: number;
  now?: () => number;
}

export interface SendResult {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  delivered: boolean;
}

const USER_AGENT = "Stackyard-Notifications/1";

export function sendNotification(req: SendRequest): Promise<SendResult> {
  const now = req.now ?? Date.now;
  const started = now();
  const timestamp = Math.floor(started / 1000);
  const { url, address, port } = req.target;
  const family = isIP(address) === 6 ? 6 : 4;
  const pinned: LookupFunction = (_host, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const transport = url.protocol === "https:" ? https : http;
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    const done = (statusCode: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      const delivered = statusCode !== null && statusCode >= 200 && statusCode < 300;
      resolve({ statusCode, error: delivered ? null : error, durationMs: now() - started, delivered });
    };
    const request = transport.request(
      {
        method: "POST",
        host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
        port,
        path: `${url.pathname}${url.search}`,
        lookup: pinned,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(req.body),
          "user-agent": USER_AGENT,
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signatureOf(req.secret, timestamp, req.body),
          [EVENT_TYPE_HEADER]: req.eventType,
          [DELIVERY_HEADER]: req.deliveryId,
        },
        timeout: req.timeoutMs,
      },
      (res) => {
        const status = res.statusCode ?? null;
        // Drain (and drop) the body so the socket is released; the answer is the status code.
        res.resume();
        res.once("end", () =>
          done(
            status,
            status !== null && status >= 300 && status < 400 ? `redirect ${status} not followed` : `HTTP ${status}`,
          ),
        );
        res.once("error", () => done(status, `HTTP ${status}, response cut off`));
      },
    );
    request.once("timeout", () => {
      request.destroy();
      done(null, `no answer within ${req.timeoutMs} ms`);
    });
    request.once("error", (err: NodeJS.ErrnoException) => done(null, connectionError(err)));
    request.end(req.body);
  });
}

/** The error's code and short text only: never the URL (node's messages name host and port, not the path). */
function connectionError(err: NodeJS.ErrnoException): string {
  return err.code ? `${err.code}: ${err.message}`.slice(0, 300) : err.message.slice(0, 300);
}

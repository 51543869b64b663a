/**
 * Server-sent events of a service's live logs. The gateway subscribes to the follow's subject on its own NATS
 * connection before asking the agent to start (so the first lines are not missed), forwards what arrives, renews
 * the agent's lease while the client is connected, and stops the follow on the agent when the client goes away
 * or its credential is revoked. The agent ends a follow whose renewals stop, so a gateway that dies costs it one
 * lease at most.
 */
import { revokeStale } from "./revoke-stale.js";
import type { ServerResponse } from "node:http";
import type { NatsConnection, Subscription } from "nats";
import type { LogFollowMessage, LogLine } from "../../nats/protocol/messages.js";
import { KEEPALIVE_MS } from "./sse.js";

export interface LogFollowSteps {
  /** Where the lines will arrive (throws 404 & co. before anything is written). */
  target(): Promise<{ subject: string }>;
  start(): Promise<{ service: string; subject: string }>;
  renew(): Promise<{ active: boolean }>;
  stop(): Promise<unknown>;
}

export interface LogStreamOptions {
  renewMs: number;
  keepaliveMs?: number;
}

interface Client {
  stillValid: () => Promise<boolean>;
  revoke: () => void;
}

const isLine = (v: unknown): v is LogLine => {
  const l = v as Partial<LogLine> | null;
  return (
    typeof l === "object" &&
    l !== null &&
    (l.stream === "stdout" || l.stream === "stderr") &&
    typeof l.line === "string" &&
    (l.ts === null || typeof l.ts === "string")
  );
};

/** What came from the agent, checked: a malformed message is dropped rather than forwarded. */
function parseMessage(data: Uint8Array): LogFollowMessage | null {
  let m: Partial<LogFollowMessage> & Record<string, unknown>;
  try {
    m = JSON.parse(new TextDecoder().decode(data)) as typeof m;
  } catch {
    return null;
  }
  if (m.type === "lines" && Array.isArray(m.lines)) return { type: "lines", lines: m.lines.filter(isLine) };
  if (m.type === "notice" && typeof m.message === "string") return { type: "notice", message: m.message };
  if (m.type === "end" && typeof m.reason === "string") {
    return { type: "end", reason: m.reason, message: typeof m.message === "string" ? m.message : null };
  }
  return null;
}

export class LogStreamHub {
  private readonly clients = new Set<Client>();

  constructor(
    private readonly nats: () => Promise<NatsConnection>,
    private readonly options: LogStreamOptions,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  /** Ends the streams whose credential is no longer valid (see DeploymentStreamHub.recheck). */
  async recheck(): Promise<number> {
    return revokeStale([...this.clients]);
  }

  async serve(
    res: ServerResponse,
    steps: LogFollowSteps,
    stillValid: () => Promise<boolean> = () => Promise.resolve(true),
  ): Promise<void> {
    const target = await steps.target();
    const nc = await this.nats();
    const sub: Subscription = nc.subscribe(target.subject);
    let started: { service: string };
    try {
      // The server must know of the subscription before the agent's first lines are published.
      await nc.flush();
      started = await steps.start();
    } catch (err) {
      sub.unsubscribe();
      throw err;
    }

    let closed = false;
    const timers: { keepalive?: NodeJS.Timeout; renew?: NodeJS.Timeout } = {};
    const event = (name: string, data: unknown) => {
      if (!closed) res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const finish = (how: { stopAgent: boolean; end?: unknown; revoked?: boolean }) => {
      if (closed) return;
      if (how.end !== undefined) event("end", how.end);
      if (how.revoked) event("revoked", { code: "CREDENTIAL_REVOKED" });
      closed = true;
      clearInterval(timers.keepalive);
      clearInterval(timers.renew);
      this.clients.delete(client);
      sub.unsubscribe();
      if (how.stopAgent) void steps.stop().catch(() => undefined);
      res.end();
    };
    const client: Client = { stillValid, revoke: () => finish({ stopAgent: true, revoked: true }) };
    this.clients.add(client);

    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-store",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    res.write(": stream open\n\n");
    event("open", { service: started.service });
    res.on("close", () => finish({ stopAgent: true }));
    timers.keepalive = setInterval(() => res.write(": keep-alive\n\n"), this.options.keepaliveMs ?? KEEPALIVE_MS);
    let failedRenewals = 0;
    timers.renew = setInterval(() => {
      steps.renew().then(
        ({ active }) => {
          failedRenewals = 0;
          if (!active) finish({ stopAgent: false, end: { reason: "lease_expired", message: null } });
        },
        () => {
          // Two renewals lost in a row leave less than one renewal period of the lease: say so and end.
          failedRenewals += 1;
          if (failedRenewals >= 2) {
            finish({
              stopAgent: true,
              end: { reason: "agent_unreachable", message: "the cluster's agent did not answer the lease renewals" },
            });
          }
        },
      );
    }, this.options.renewMs);

    for await (const msg of sub) {
      const message = parseMessage(msg.data);
      if (!message) continue;
      if (message.type === "lines") for (const line of message.lines) event("line", line);
      else if (message.type === "notice") event("notice", { message: message.message });
      else finish({ stopAgent: false, end: { reason: message.reason, message: message.message } });
    }
    // The subscription ended without the follow's end (the gateway's connection closed): end the stream too.
    finish({ stopAgent: true, end: { reason: "error", message: "the gateway lost its NATS connection" } });
  }
}

/**
 * Server-sent events for deployment output: replay what is stored (in seq order), then push what arrives live
 * (from the deployments broadcast, never by polling the database), resume from Last-Event-ID, keep-alives, and
 * close after the terminal event. Live events that arrive during the replay are buffered and deduplicated by seq.
 */
import type { ServerResponse } from "node:http";
import { TERMINAL_STATUSES } from "../deployments/index.js";

export interface StreamEvent {
  seq: number;
  ts: string;
  level: string;
  message: string;
  data: Record<string, unknown>;
}

export interface ReplayPage {
  deployment: { id: string; status: string };
  events: StreamEvent[];
  more: boolean;
}

export const KEEPALIVE_MS = 15_000;

/**
 * An event's SSE frame, encoded once however many clients watch its deployment (a broadcast hands every client
 * the same event objects; at 10,000 clients the per-client JSON.stringify was the fan-out's main cost).
 */
const frames = new WeakMap<StreamEvent, string>();
function frameOf(e: StreamEvent): string {
  let frame = frames.get(e);
  if (frame === undefined) {
    frame = `id: ${e.seq}\nevent: deployment-event\ndata: ${JSON.stringify(e)}\n\n`;
    frames.set(e, frame);
  }
  return frame;
}
const TERMINAL = new Set<string>(TERMINAL_STATUSES);

interface Client {
  /** Whether the credential that opened the stream is still valid (checked when any credential is revoked). */
  stillValid: () => Promise<boolean>;
  /** Ends the stream with an `event: revoked` (the credential was revoked or the session logged out). */
  revoke: () => void;
  lastSeq: number;
  replaying: boolean;
  buffered: Array<{ events: StreamEvent[]; status: string | null }>;
  push(events: StreamEvent[], status: string | null): void;
}

export class DeploymentStreamHub {
  private readonly clients = new Map<string, Set<Client>>();

  /** Called for every `deployments.events` broadcast. */
  publish(deploymentId: string, events: StreamEvent[], status: string | null): void {
    for (const client of this.clients.get(deploymentId) ?? []) {
      if (client.replaying) client.buffered.push({ events, status });
      else client.push(events, status);
    }
  }

  /**
   * A credential was revoked somewhere (logout, token revocation, refresh-token reuse): every open stream
   * re-checks its own credential and the ones no longer valid end at once. Called after the authenticator has
   * dropped the revoked credentials from its cache, so the check reaches the database for exactly those.
   */
  async recheck(): Promise<number> {
    const all = [...this.clients.values()].flatMap((set) => [...set]);
    const verdicts = await Promise.all(all.map((c) => c.stillValid().catch(() => false)));
    let ended = 0;
    all.forEach((client, i) => {
      if (!verdicts[i]) {
        client.revoke();
        ended += 1;
      }
    });
    return ended;
  }

  get size(): number {
    let n = 0;
    for (const set of this.clients.values()) n += set.size;
    return n;
  }

  /**
   * Serves one SSE client. `fetchPage(afterSeq)` returns stored events after a seq (and throws 404 & co. before
   * any byte is written, so errors still get the JSON error shape).
   */
  async serve(
    res: ServerResponse,
    deploymentId: string,
    startAfter: number | null,
    fetchPage: (afterSeq: number | null) => Promise<ReplayPage>,
    stillValid: () => Promise<boolean> = () => Promise.resolve(true),
  ): Promise<void> {
    let first = await fetchPage(startAfter);
    const set = this.clients.get(deploymentId) ?? new Set<Client>();
    this.clients.set(deploymentId, set);
    let closed = false;
    const timers: { keepalive?: NodeJS.Timeout } = {};
    let delivering: Promise<void> = Promise.resolve();
    const finish = (deployment?: { id: string; status: string }, revoked = false) => {
      if (closed) return;
      closed = true;
      clearInterval(timers.keepalive);
      set.delete(client);
      if (set.size === 0) this.clients.delete(deploymentId);
      if (deployment) res.write(`event: end\ndata: ${JSON.stringify(deployment)}\n\n`);
      if (revoked) res.write(`event: revoked\ndata: ${JSON.stringify({ code: "CREDENTIAL_REVOKED" })}\n\n`);
      res.end();
    };
    const send = (e: StreamEvent): boolean => {
      if (e.seq <= client.lastSeq) return false;
      client.lastSeq = e.seq;
      res.write(frameOf(e));
      return e.data.terminal === true;
    };
    const client: Client = {
      stillValid,
      revoke: () => finish(undefined, true),
      lastSeq: startAfter ?? -1,
      replaying: true,
      buffered: [],
      // Broadcasts are core NATS (at most once): one lost in a NATS failover leaves a gap in seq, which is
      // filled from the store before anything after it is sent, so a client never skips an event.
      push: (events, status) => {
        delivering = delivering
          .then(async () => {
            let ended = false;
            const sorted = [...events].sort((a, b) => a.seq - b.seq).filter((e) => e.seq > client.lastSeq);
            if (sorted.length > 0 && sorted[0]!.seq > client.lastSeq + 1) {
              for (let more = true; more && !closed;) {
                const page = await fetchPage(client.lastSeq);
                for (const e of page.events) ended = send(e) || ended;
                more = page.more;
              }
            }
            for (const e of sorted) ended = send(e) || ended;
            if (ended || (status && TERMINAL.has(status))) finish({ id: deploymentId, status: status ?? "UNKNOWN" });
          })
          .catch(() => finish());
      },
    };
    set.add(client);
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-store",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    res.write(": stream open\n\n");
    res.on("close", () => finish());
    timers.keepalive = setInterval(() => res.write(": keep-alive\n\n"), KEEPALIVE_MS);

    // Replay, page by page, until caught up.
    let status: string;
    for (;;) {
      for (const e of first.events) send(e);
      status = first.deployment.status;
      if (!first.more || closed) break;
      first = await fetchPage(client.lastSeq);
    }
    client.replaying = false;
    for (const b of client.buffered.splice(0)) client.push(b.events, b.status);
    if (!closed && TERMINAL.has(status)) {
      // Terminal already when replayed: a last page read closes any gap with what was written meanwhile.
      const tail = await fetchPage(client.lastSeq);
      for (const e of tail.events) send(e);
      finish({ id: deploymentId, status: tail.deployment.status });
    }
  }
}

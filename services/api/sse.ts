/**
 * Server-sent events for deployment output: replay what is stored (in seq order), then push what arrives live
 * (from the deployments broadcast, never by polling the database), resume from Last-Event-ID, keep-alives, and
 * close after the terminal event. Live events that arrive during the replay are buffered and deduplicated by seq;
 * every client gets the seqs in order without a gap: a missing one is waited for (and read from the store).
 */
import { revokeStale } from "./revoke-stale.js";
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
/** How long a stream holds later events back while it waits for a missing one, and how often it asks the store. */
export const GAP_WAIT_MS = 10_000;
const GAP_RETRY_MS = 250;

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

  constructor(private readonly options: { gapWaitMs?: number; gapRetryMs?: number } = {}) {}

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
    return revokeStale([...this.clients.values()].flatMap((set) => [...set]));
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
      clearTimeout(gapTimer);
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
    // Events not yet sent because one before them is missing. Seqs of a deployment are contiguous from 0, so a
    // gap is an event still on its way: committed out of order by another writer (several service processes
    // persist events), or a broadcast lost in a NATS failover (core NATS is at most once) that the store has.
    const pending = new Map<number, StreamEvent>();
    let ended = false;
    let endStatus: string | null = null;
    let gapSince: number | null = null;
    let gapTimer: NodeJS.Timeout | undefined;
    const flush = () => {
      for (let next = pending.get(client.lastSeq + 1); next; next = pending.get(client.lastSeq + 1)) {
        pending.delete(next.seq);
        ended = send(next) || ended;
      }
    };
    const settle = async (): Promise<void> => {
      flush();
      if (pending.size > 0 || (endStatus !== null && !ended)) {
        // Read the store after what was sent until it brings nothing new.
        for (let progress = true; progress && !closed;) {
          const page = await fetchPage(client.lastSeq);
          const before = client.lastSeq;
          for (const e of page.events) if (e.seq > client.lastSeq) pending.set(e.seq, e);
          flush();
          progress = page.more && client.lastSeq > before;
          if (page.deployment.status && TERMINAL.has(page.deployment.status)) endStatus ??= page.deployment.status;
        }
      }
      if (closed) return;
      if (pending.size > 0) {
        gapSince ??= Date.now();
        if (Date.now() - gapSince < (this.options.gapWaitMs ?? GAP_WAIT_MS)) {
          clearTimeout(gapTimer);
          gapTimer = setTimeout(() => client.push([], null), this.options.gapRetryMs ?? GAP_RETRY_MS);
          return;
        }
        // Given up: what is missing never reached the store. Send the rest rather than stall the stream forever.
        for (const e of [...pending.values()].sort((a, b) => a.seq - b.seq)) ended = send(e) || ended;
        pending.clear();
      }
      gapSince = null;
      if (ended || endStatus !== null) finish({ id: deploymentId, status: endStatus ?? "UNKNOWN" });
    };
    const client: Client = {
      stillValid,
      revoke: () => finish(undefined, true),
      lastSeq: startAfter ?? -1,
      replaying: true,
      buffered: [],
      push: (events, status) => {
        for (const e of events) if (e.seq > client.lastSeq) pending.set(e.seq, e);
        if (status && TERMINAL.has(status)) endStatus = status;
        delivering = delivering.then(settle).catch(() => finish());
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

    // Replay, page by page, until caught up; then what arrived meanwhile, through the same gap check.
    let status: string;
    for (;;) {
      const before = client.lastSeq;
      for (const e of first.events) if (e.seq > client.lastSeq) pending.set(e.seq, e);
      flush();
      status = first.deployment.status;
      // No progress on a full page: a gap in the store, left to the settle's wait.
      if (!first.more || closed || client.lastSeq === before) break;
      first = await fetchPage(client.lastSeq);
    }
    client.replaying = false;
    for (const b of client.buffered.splice(0)) client.push(b.events, b.status);
    // Terminal already when replayed: the settle reads a last page, which closes any gap with what was written
    // meanwhile, and ends the stream.
    client.push([], TERMINAL.has(status) ? status : null);
  }
}

/**
 * Following a service's live logs (`GET …/logs/stream`): lines as the agent reads them, until the caller aborts
 * or the server ends the follow. Not resumed after a drop: a new follow would send its tail again, so the caller
 * says the follow stopped and lets the user start another.
 */
import type { ApiClient } from "./client.js";
import type { LogLine } from "./types.js";

export interface LiveLogQuery {
  tail: number;
  /** Seconds since the epoch. */
  since?: number;
  /** Plain case-sensitive substring, matched on the agent. */
  grep?: string;
}

export interface LiveLogHandlers {
  onOpen: (service: string) => void;
  onLine: (line: LogLine) => void;
  /** The agent's own remarks, e.g. "rate limited, 12 lines dropped". */
  onNotice: (message: string) => void;
}

/** Why a follow ended: the server's reason, "closed" when the connection ended without one. */
export interface LiveLogEnd {
  reason: string;
  message: string | null;
}

export const liveLogsPath = (envId: string, service: string, q: LiveLogQuery): string => {
  const query = new URLSearchParams({ tail: String(q.tail) });
  if (q.since !== undefined) query.set("since", String(q.since));
  if (q.grep) query.set("grep", q.grep);
  return `/v1/environments/${encodeURIComponent(envId)}/services/${encodeURIComponent(service)}/logs/stream?${query}`;
};

const isLine = (v: unknown): v is LogLine =>
  typeof v === "object" && v !== null && typeof (v as LogLine).line === "string";

/** Resolves with how the follow ended (never for an abort: then it resolves with reason "stopped"). */
export async function followServiceLogs(
  client: ApiClient,
  envId: string,
  service: string,
  query: LiveLogQuery,
  handlers: LiveLogHandlers,
  signal: AbortSignal,
): Promise<LiveLogEnd> {
  try {
    for await (const message of client.stream(liveLogsPath(envId, service, query), { signal })) {
      const data = JSON.parse(message.data) as unknown;
      if (message.event === "open") handlers.onOpen(String((data as { service?: unknown }).service ?? service));
      else if (message.event === "line" && isLine(data)) handlers.onLine(data);
      else if (message.event === "notice") handlers.onNotice(String((data as { message?: unknown }).message ?? ""));
      else if (message.event === "end" || message.event === "revoked") {
        const d = data as { reason?: unknown; message?: unknown; code?: unknown };
        return {
          reason: message.event === "revoked" ? "revoked" : String(d.reason ?? "unknown"),
          message: typeof d.message === "string" ? d.message : null,
        };
      }
    }
  } catch (e) {
    if (signal.aborted) return { reason: "stopped", message: null };
    throw e;
  }
  return signal.aborted ? { reason: "stopped", message: null } : { reason: "closed", message: null };
}

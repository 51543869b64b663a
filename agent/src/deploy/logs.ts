/** GetLogs: the last lines of one service of a stack, merged across its tasks and size-limited. */
import type { LogLine } from "../docker/engine.js";
import { InvalidRequestError } from "./errors.js";
import { findStackService } from "./scale.js";
import type { DeployEngine } from "./types.js";

export const MAX_LOG_TAIL = 10_000;
export const MAX_LOG_BYTES = 4 * 1024 * 1024;

export interface LogsRequest {
  stackName: string;
  service: string;
  tail: number;
  /** Unix seconds; only lines at or after this time. */
  since?: number;
  maxBytes: number;
}

export interface LogsResult {
  service: string;
  lines: LogLine[];
}

export async function getServiceLogs(engine: DeployEngine, req: LogsRequest): Promise<LogsResult> {
  if (!Number.isInteger(req.tail) || req.tail < 1 || req.tail > MAX_LOG_TAIL) {
    throw new InvalidRequestError(`tail must be an integer between 1 and ${MAX_LOG_TAIL}`);
  }
  if (!Number.isInteger(req.maxBytes) || req.maxBytes < 1 || req.maxBytes > MAX_LOG_BYTES) {
    throw new InvalidRequestError(`maxBytes must be an integer between 1 and ${MAX_LOG_BYTES}`);
  }
  if (req.since !== undefined && (!Number.isFinite(req.since) || req.since < 0)) {
    throw new InvalidRequestError("since must be a unix time in seconds");
  }
  const service = await findStackService(engine, req.stackName, req.service);
  const lines = await engine.serviceLogs(service.id, { tail: req.tail, since: req.since, maxBytes: req.maxBytes });
  return { service: service.name, lines: mergeTail(lines, req.tail) };
}

/**
 * The daemon applies `tail` per task and interleaves tasks; order by timestamp (stable, lines without one keep
 * their place after the previous line) and keep the newest `tail` overall.
 */
export function mergeTail(lines: LogLine[], tail: number): LogLine[] {
  let lastTs = "";
  const keyed = lines.map((line, index) => {
    if (line.ts) lastTs = sortableTimestamp(line.ts);
    return { line, key: lastTs, index };
  });
  keyed.sort((a, b) => (a.key === b.key ? a.index - b.index : a.key < b.key ? -1 : 1));
  return keyed.slice(Math.max(0, keyed.length - tail)).map((k) => k.line);
}

/** Docker trims trailing zeros of RFC 3339 nanosecond timestamps; pad them so strings compare in time order. */
export function sortableTimestamp(ts: string): string {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(.*)$/.exec(ts);
  return m ? `${m[1]}.${(m[2] ?? "").padEnd(9, "0")}${m[3]}` : ts;
}

/**
 * SearchLogs: the lines several services of a stack wrote in a time range that contain a text, merged by timestamp.
 * The text is matched here so only matches travel to the control plane.
 */
import type { LogLine } from "../docker/engine.js";
import { InvalidRequestError, ServiceNotFoundError } from "./errors.js";
import { MAX_LOG_BYTES, MAX_LOG_TAIL, sortableTimestamp } from "./logs.js";
import type { DeployEngine } from "./types.js";

export interface LogSearchRequest {
  stackName: string;
  /** Compose keys (`web`) or Swarm names (`<stack>_web`). */
  services: string[];
  /** Unix seconds, inclusive. */
  since: number;
  /** Unix seconds, exclusive. */
  until: number;
  text: string | null;
}

export interface ServiceLogLine extends LogLine {
  service: string;
}

export interface LogSearchResult {
  lines: ServiceLogLine[];
  /** A service had (or may have had) more lines in the range than one read returns: its oldest were not searched. */
  truncated: boolean;
}

/** Case-insensitive plain substring (no pattern syntax, so a user's text cannot be an expensive regex). */
export function lineMatcher(text: string | null): (line: string) => boolean {
  if (text === null || text === "") return () => true;
  const needle = text.toLowerCase();
  return (line) => line.toLowerCase().includes(needle);
}

/**
 * One time-ordered list from each service's own (time-ordered) lines. A line without a timestamp sorts with the
 * line before it in its service; ties keep the services' order, then each service's own order.
 */
export function mergeByTime<L extends LogLine>(perService: readonly (readonly L[])[]): L[] {
  const keyed: { line: L; key: string; source: number; index: number }[] = [];
  perService.forEach((lines, source) => {
    let lastTs = "";
    lines.forEach((line, index) => {
      if (line.ts) lastTs = sortableTimestamp(line.ts);
      keyed.push({ line, key: lastTs, source, index });
    });
  });
  keyed.sort((a, b) =>
    a.key !== b.key ? (a.key < b.key ? -1 : 1) : a.source !== b.source ? a.source - b.source : a.index - b.index,
  );
  return keyed.map((k) => k.line);
}

export async function searchStackLogs(engine: DeployEngine, req: LogSearchRequest): Promise<LogSearchResult> {
  if (!Number.isInteger(req.since) || !Number.isInteger(req.until) || req.since < 0 || req.until <= req.since) {
    throw new InvalidRequestError("since and until must be unix times in seconds, until after since");
  }
  const all = await engine.listServices({ stack: req.stackName });
  const targets = req.services.map((name) => {
    const found = all.find((s) => s.name === `${req.stackName}_${name}`) ?? all.find((s) => s.name === name);
    if (!found) throw new ServiceNotFoundError(req.stackName, name);
    return { name, id: found.id };
  });
  const matches = lineMatcher(req.text);
  const perService: ServiceLogLine[][] = [];
  let truncated = false;
  // One service at a time: each read may hold up to MAX_LOG_BYTES, and only its matches are kept.
  for (const target of targets) {
    const lines = await engine.serviceLogs(target.id, {
      tail: MAX_LOG_TAIL,
      since: req.since,
      until: req.until,
      details: true,
      maxBytes: MAX_LOG_BYTES,
    });
    // The engine drops the oldest lines silently once a read holds MAX_LOG_BYTES: a read that came near it may
    // have lost some, so say the range was not searched whole.
    const bytes = lines.reduce((sum, l) => sum + Buffer.byteLength(l.line), 0);
    if (lines.length >= MAX_LOG_TAIL || bytes >= MAX_LOG_BYTES / 2) truncated = true;
    const own = mergeByTime([lines]).filter((l) => matches(l.line));
    perService.push(own.map((l) => ({ ...l, service: target.name })));
  }
  return { lines: mergeByTime(perService), truncated };
}

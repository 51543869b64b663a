/** GetLogs: the newest lines of a service that fit the requested size, and whether older output was left out. */
import type { LogLine, SearchLogLine, SearchLogsResult } from "../../../nats/protocol/messages.js";
import type { CommandHandler } from "../commands.js";
import { searchStackLogs } from "../deploy/log-search.js";
import { MAX_LOG_BYTES as ENGINE_MAX_LOG_BYTES, getServiceLogs } from "../deploy/logs.js";
import type { DeployEngine } from "../deploy/types.js";

const ELLIPSIS = "…";

/**
 * Keeps the newest lines whose text fits `maxBytes` in total, cutting a single line longer than the whole budget.
 * `truncated` says something was cut or left out (a line the engine cut is longer than `maxBytes`, so it counts).
 */
export function newestWithin<L extends LogLine>(
  lines: readonly L[],
  maxBytes: number,
): { lines: L[]; truncated: boolean } {
  const kept: L[] = [];
  let budget = maxBytes;
  let truncated = false;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    const size = Buffer.byteLength(line.line);
    if (size <= budget) {
      kept.push(line);
      budget -= size;
      continue;
    }
    truncated = true;
    if (kept.length === 0) kept.push({ ...line, line: cutUtf8(line.line, maxBytes) });
    break;
  }
  return { lines: kept.reverse(), truncated };
}

function cutUtf8(text: string, maxBytes: number): string {
  const budget = Math.max(0, maxBytes - Buffer.byteLength(ELLIPSIS));
  let out = Buffer.from(text).subarray(0, budget).toString("utf8");
  if (out.endsWith("\uFFFD")) out = out.slice(0, -1);
  return out + ELLIPSIS;
}

export function createLogsHandler(engine: DeployEngine): CommandHandler<"GetLogs"> {
  return async (payload) => {
    // The engine drops older lines silently once its budget is full: ask for twice as much, so that losing lines
    // shows up as more output than `maxBytes` here.
    const result = await getServiceLogs(engine, {
      stackName: payload.stackName,
      service: payload.service,
      tail: payload.tail,
      ...(payload.since !== null ? { since: payload.since } : {}),
      maxBytes: Math.min(payload.maxBytes * 2, ENGINE_MAX_LOG_BYTES),
    });
    return newestWithin(result.lines, payload.maxBytes);
  };
}

/** SearchLogs: the newest `limit` matches of the range that fit `maxBytes`, each with its service, task and node. */
export function createSearchLogsHandler(engine: DeployEngine): CommandHandler<"SearchLogs"> {
  return async (payload): Promise<SearchLogsResult> => {
    const found = await searchStackLogs(engine, {
      stackName: payload.stackName,
      services: payload.services,
      since: payload.since,
      until: payload.until,
      text: payload.text,
    });
    const newest = found.lines.slice(Math.max(0, found.lines.length - payload.limit));
    const lines: SearchLogLine[] = newest.map((l) => ({
      service: l.service,
      task: l.task ?? null,
      node: l.node ?? null,
      stream: l.stream,
      ts: l.ts,
      line: l.line,
    }));
    const fitted = newestWithin(lines, payload.maxBytes);
    return {
      lines: fitted.lines,
      truncated: found.truncated || newest.length < found.lines.length || fitted.truncated,
    };
  };
}

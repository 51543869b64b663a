/**
 * Searching an environment's logs (`GET /v1/environments/{envId}/logs`): the lines every (or the named) service
 * wrote in a time range containing a text, merged by time. The server answers an event stream read here to its
 * end: `open` (the services searched), `line` per line, `end` (count, truncated).
 */
import type { ApiClient } from "./client.js";

export type SearchLogLine = {
  ts: string | null;
  service: string;
  task: string | null;
  node: string | null;
  stream: "stdout" | "stderr";
  line: string;
};

export interface LogSearchQuery {
  /** RFC 3339. */
  since: string;
  until?: string;
  q?: string;
  services?: string[];
  limit?: number;
}

export interface LogSearchResult {
  services: string[];
  lines: SearchLogLine[];
  truncated: boolean;
}

export const logSearchPath = (envId: string, query: LogSearchQuery): string => {
  const params = new URLSearchParams({ since: query.since });
  if (query.until) params.set("until", query.until);
  if (query.q) params.set("q", query.q);
  for (const s of query.services ?? []) params.append("service", s);
  if (query.limit !== undefined) params.set("limit", String(query.limit));
  return `/v1/environments/${encodeURIComponent(envId)}/logs?${params}`;
};

const isLine = (v: unknown): v is SearchLogLine =>
  typeof v === "object" && v !== null && typeof (v as SearchLogLine).line === "string";

export async function searchEnvironmentLogs(
  client: ApiClient,
  envId: string,
  query: LogSearchQuery,
): Promise<LogSearchResult> {
  const result: LogSearchResult = { services: [], lines: [], truncated: false };
  let ended = false;
  for await (const message of client.stream(logSearchPath(envId, query))) {
    const data = JSON.parse(message.data) as unknown;
    if (message.event === "open") result.services = (data as { services?: string[] }).services ?? [];
    else if (message.event === "line" && isLine(data)) result.lines.push(data);
    else if (message.event === "end") {
      result.truncated = (data as { truncated?: unknown }).truncated === true;
      ended = true;
      break;
    }
  }
  if (!ended) throw new Error("the log search ended before its last event: try again");
  return result;
}

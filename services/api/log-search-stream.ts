/**
 * The answer of a log search (GET /v1/environments/{envId}/logs) as server-sent events, like the live log route:
 * `open` with the services searched, one `line` per merged line, then `end` with the count and whether lines were
 * left out. The action runs first, so a refused search is a normal JSON error with its status.
 */
import type { ServerResponse } from "node:http";
import type { SearchLogLine } from "../../nats/protocol/messages.js";

export interface LogSearchAnswer {
  services: string[];
  lines: SearchLogLine[];
  truncated: boolean;
}

export function writeLogSearch(res: ServerResponse, answer: LogSearchAnswer): void {
  res.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache, no-store",
    "X-Accel-Buffering": "no",
  });
  const event = (name: string, data: unknown) => res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  event("open", { services: answer.services });
  for (const l of answer.lines) {
    event("line", { ts: l.ts, service: l.service, task: l.task, node: l.node, stream: l.stream, line: l.line });
  }
  event("end", { count: answer.lines.length, truncated: answer.truncated });
  res.end();
}

/**
 * SearchLogs (control plane → agent): the lines of several services of a stack written in a time range, filtered by
 * text on the agent (only matches cross NATS), merged by timestamp, bounded by a count and bytes.
 */
import type { JSONSchemaType } from "ajv";
import { MAX_LOG_BYTES, MAX_LOG_TAIL, NULL, serviceKey, stackName, text } from "../schema.js";
import type { CommandSpec } from "./spec.js";

export const MAX_SEARCH_SERVICES = 50;
export const MAX_SEARCH_TEXT = 200;

export interface SearchLogs {
  stackName: string;
  /** Compose keys of the services to read; the agent refuses the search when one is not in the stack. */
  services: string[];
  /** Seconds since the epoch, inclusive. */
  since: number;
  /** Seconds since the epoch, exclusive; after `since`. */
  until: number;
  /** Case-insensitive plain substring; null keeps every line. */
  text: string | null;
  /** At most this many lines, the newest ones. */
  limit: number;
  maxBytes: number;
}
const searchLogs: JSONSchemaType<SearchLogs> = {
  type: "object",
  additionalProperties: false,
  required: ["stackName", "services", "since", "until", "text", "limit", "maxBytes"],
  properties: {
    stackName,
    services: { type: "array", minItems: 1, maxItems: MAX_SEARCH_SERVICES, uniqueItems: true, items: serviceKey },
    since: { type: "integer", minimum: 0 },
    until: { type: "integer", minimum: 1 },
    text: { anyOf: [{ type: "string", minLength: 1, maxLength: MAX_SEARCH_TEXT }, NULL] },
    limit: { type: "integer", minimum: 1, maximum: MAX_LOG_TAIL },
    maxBytes: { type: "integer", minimum: 1, maximum: MAX_LOG_BYTES },
  },
};

export interface SearchLogLine {
  /** The compose key of the service that wrote it. */
  service: string;
  /** The Swarm task and node ids, when the daemon said them. */
  task: string | null;
  node: string | null;
  stream: "stdout" | "stderr";
  ts: string | null;
  line: string;
}
export interface SearchLogsResult {
  lines: SearchLogLine[];
  /** More lines matched than `limit` or `maxBytes` allowed (the oldest were left out). */
  truncated: boolean;
}
const searchLogsResult: JSONSchemaType<SearchLogsResult> = {
  type: "object",
  additionalProperties: false,
  required: ["lines", "truncated"],
  properties: {
    lines: {
      type: "array",
      maxItems: MAX_LOG_TAIL,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["service", "task", "node", "stream", "ts", "line"],
        properties: {
          service: serviceKey,
          task: { anyOf: [text(64), NULL] },
          node: { anyOf: [text(64), NULL] },
          stream: { type: "string", enum: ["stdout", "stderr"] },
          ts: { anyOf: [text(64), NULL] },
          line: text(MAX_LOG_BYTES),
        },
      },
    },
    truncated: { type: "boolean" },
  },
};

export const SearchLogsCommand: CommandSpec<SearchLogs, SearchLogsResult, "SearchLogsResult"> = {
  resultName: "SearchLogsResult",
  payload: searchLogs,
  result: searchLogsResult,
  errorCodes: ["SERVICE_NOT_FOUND"],
  example: {
    payload: {
      stackName: "web",
      services: ["app", "worker"],
      since: 1_704_067_200,
      until: 1_704_070_800,
      text: "timeout",
      limit: 1000,
      maxBytes: 262_144,
    },
    result: {
      lines: [
        {
          service: "app",
          task: "x2v7kq1c9d8e7f6g5h4j3k2l1",
          node: "n8m7l6k5j4h3g2f1e0d9c8b7a",
          stream: "stderr",
          ts: "2024-01-01T00:10:00.000000000Z",
          line: "upstream timeout after 30s",
        },
      ],
      truncated: false,
    },
  },
};

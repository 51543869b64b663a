/** GetLogs (control plane → agent): A service's recent log lines, bounded by tail and bytes. */
import type { JSONSchemaType } from "ajv";
import { MAX_LOG_BYTES, MAX_LOG_TAIL, NULL, serviceKey, stackName, text } from "../schema.js";
import type { CommandSpec } from "./spec.js";

export interface GetLogs {
  stackName: string;
  service: string;
  tail: number;
  /** Seconds since the epoch, as Docker takes it. */
  since: number | null;
  maxBytes: number;
}
const getLogs: JSONSchemaType<GetLogs> = {
  type: "object",
  additionalProperties: false,
  required: ["stackName", "service", "tail", "since", "maxBytes"],
  properties: {
    stackName,
    service: serviceKey,
    tail: { type: "integer", minimum: 1, maximum: MAX_LOG_TAIL },
    since: { anyOf: [{ type: "integer", minimum: 0 }, NULL] },
    maxBytes: { type: "integer", minimum: 1, maximum: MAX_LOG_BYTES },
  },
};

export interface LogLine {
  stream: "stdout" | "stderr";
  ts: string | null;
  line: string;
}
export interface GetLogsResult {
  lines: LogLine[];
  /** More output existed than `maxBytes` allowed. */
  truncated: boolean;
}
const getLogsResult: JSONSchemaType<GetLogsResult> = {
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
        required: ["stream", "ts", "line"],
        properties: {
          stream: { type: "string", enum: ["stdout", "stderr"] },
          ts: { anyOf: [text(64), NULL] },
          line: text(MAX_LOG_BYTES),
        },
      },
    },
    truncated: { type: "boolean" },
  },
};

export const GetLogsCommand: CommandSpec<GetLogs, GetLogsResult, "GetLogsResult"> = {
  resultName: "GetLogsResult",
  payload: getLogs,
  result: getLogsResult,
  errorCodes: [],
  example: {
    payload: { stackName: "web", service: "app", tail: 100, since: null, maxBytes: 65_536 },
    result: {
      lines: [{ stream: "stdout", ts: "2024-01-01T00:00:00.000000000Z", line: "hello" }],
      truncated: false,
    },
  },
};

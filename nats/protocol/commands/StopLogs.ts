/** StopLogs (control plane → agent): End a log follow now (its reader went away). */
import type { JSONSchemaType } from "ajv";
import { token } from "../schema.js";
import type { CommandSpec } from "./spec.js";

export interface StopLogs {
  followId: string;
}
const stopLogs: JSONSchemaType<StopLogs> = {
  type: "object",
  additionalProperties: false,
  required: ["followId"],
  properties: { followId: token },
};

export interface StopLogsResult {
  followId: string;
  /** False when the follow was not running here (already ended or unknown). */
  stopped: boolean;
}
const stopLogsResult: JSONSchemaType<StopLogsResult> = {
  type: "object",
  additionalProperties: false,
  required: ["followId", "stopped"],
  properties: { followId: token, stopped: { type: "boolean" } },
};

export const StopLogsCommand: CommandSpec<StopLogs, StopLogsResult, "StopLogsResult"> = {
  resultName: "StopLogsResult",
  payload: stopLogs,
  result: stopLogsResult,
  errorCodes: [],
  example: {
    payload: { followId: "4f6c1a2b-3d4e-4f50-8a9b-0c1d2e3f4a5b" },
    result: { followId: "4f6c1a2b-3d4e-4f50-8a9b-0c1d2e3f4a5b", stopped: true },
  },
};

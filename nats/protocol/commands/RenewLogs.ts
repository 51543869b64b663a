/** RenewLogs (control plane → agent): Extend a log follow's lease while someone still reads it. */
import type { JSONSchemaType } from "ajv";
import { token } from "../schema.js";
import { MAX_FOLLOW_LEASE_SECONDS, MIN_FOLLOW_LEASE_SECONDS } from "./FollowLogs.js";
import type { CommandSpec } from "./spec.js";

export interface RenewLogs {
  followId: string;
  leaseSeconds: number;
}
const renewLogs: JSONSchemaType<RenewLogs> = {
  type: "object",
  additionalProperties: false,
  required: ["followId", "leaseSeconds"],
  properties: {
    followId: token,
    leaseSeconds: { type: "integer", minimum: MIN_FOLLOW_LEASE_SECONDS, maximum: MAX_FOLLOW_LEASE_SECONDS },
  },
};

export interface RenewLogsResult {
  followId: string;
  /** False when the follow is not running here (ended, expired, or unknown): it is not restarted. */
  active: boolean;
}
const renewLogsResult: JSONSchemaType<RenewLogsResult> = {
  type: "object",
  additionalProperties: false,
  required: ["followId", "active"],
  properties: { followId: token, active: { type: "boolean" } },
};

export const RenewLogsCommand: CommandSpec<RenewLogs, RenewLogsResult, "RenewLogsResult"> = {
  resultName: "RenewLogsResult",
  payload: renewLogs,
  result: renewLogsResult,
  errorCodes: [],
  example: {
    payload: { followId: "4f6c1a2b-3d4e-4f50-8a9b-0c1d2e3f4a5b", leaseSeconds: 30 },
    result: { followId: "4f6c1a2b-3d4e-4f50-8a9b-0c1d2e3f4a5b", active: true },
  },
};

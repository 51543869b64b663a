/** CancelBuild (control plane → agent): stop a running build on this agent (its terminal event says `cancelled`). */
import type { JSONSchemaType } from "ajv";
import { NULL, text, token } from "../schema.js";
import type { CommandSpec } from "./spec.js";

export interface CancelBuild {
  buildId: string;
  reason: string | null;
}
const cancelBuild: JSONSchemaType<CancelBuild> = {
  type: "object",
  additionalProperties: false,
  required: ["buildId", "reason"],
  properties: { buildId: token, reason: { anyOf: [text(1024), NULL] } },
};

export interface CancelBuildResult {
  buildId: string;
  /** False when the build was not running on this agent (already finished or unknown). */
  cancelled: boolean;
}
const cancelBuildResult: JSONSchemaType<CancelBuildResult> = {
  type: "object",
  additionalProperties: false,
  required: ["buildId", "cancelled"],
  properties: { buildId: token, cancelled: { type: "boolean" } },
};

export const CancelBuildCommand: CommandSpec<CancelBuild, CancelBuildResult, "CancelBuildResult"> = {
  resultName: "CancelBuildResult",
  payload: cancelBuild,
  result: cancelBuildResult,
  errorCodes: [],
  example: {
    payload: { buildId: "b3f1a2b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b", reason: "canceled by alice" },
    result: { buildId: "b3f1a2b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b", cancelled: true },
  },
};

/** CancelDeployment (control plane → agent): Stop a running deployment on this agent. */
import type { JSONSchemaType } from "ajv";
import { NULL, text, token } from "../schema.js";
import type { CommandSpec } from "./spec.js";

export interface CancelDeployment {
  deploymentId: string;
  reason: string | null;
}
const cancelDeployment: JSONSchemaType<CancelDeployment> = {
  type: "object",
  additionalProperties: false,
  required: ["deploymentId", "reason"],
  properties: { deploymentId: token, reason: { anyOf: [text(1024), NULL] } },
};

export interface CancelDeploymentResult {
  deploymentId: string;
  /** False when the deployment was not running on this agent (already finished or unknown). */
  cancelled: boolean;
}
const cancelDeploymentResult: JSONSchemaType<CancelDeploymentResult> = {
  type: "object",
  additionalProperties: false,
  required: ["deploymentId", "cancelled"],
  properties: { deploymentId: token, cancelled: { type: "boolean" } },
};

export const CancelDeploymentCommand: CommandSpec<CancelDeployment, CancelDeploymentResult, "CancelDeploymentResult"> =
  {
    resultName: "CancelDeploymentResult",
    payload: cancelDeployment,
    result: cancelDeploymentResult,
    errorCodes: [],
    example: {
      payload: { deploymentId: "d3f1a2b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b", reason: "cancelled by alice" },
      result: { deploymentId: "d3f1a2b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b", cancelled: true },
    },
  };

/**
 * RollbackStack (control plane → agent): deploy an older release of an environment. The payload is a DeployStack
 * rendered exactly as a deploy of that release would be (the release's frozen compose, the environment's overlay,
 * Swarm stack and ownership labels, whose `io.stackyard.release` is the target) plus which release the
 * environment goes back to and which one it leaves.
 */
import type { JSONSchemaType } from "ajv";
import { NULL, token } from "../schema.js";
import type { CommandSpec } from "./spec.js";
import {
  DEPLOY_EXAMPLE,
  DeployStackCommand,
  deployStackProperties,
  deployStackRequired,
  deployStackResult,
  type DeployStack,
  type DeployStackResult,
} from "./DeployStack.js";

export interface RollbackStack extends DeployStack {
  /** The release the environment returns to; equal to the payload's `io.stackyard.release` label. */
  targetReleaseId: string;
  /** The release the environment last deployed successfully, which the rollback replaces (null: none yet). */
  fromReleaseId: string | null;
}
const rollbackStack: JSONSchemaType<RollbackStack> = {
  type: "object",
  additionalProperties: false,
  required: [...deployStackRequired, "targetReleaseId", "fromReleaseId"],
  properties: { ...deployStackProperties, targetReleaseId: token, fromReleaseId: { anyOf: [token, NULL] } },
};

export const RollbackStackCommand: CommandSpec<RollbackStack, DeployStackResult, "DeployStackResult"> = {
  resultName: "DeployStackResult",
  payload: rollbackStack,
  result: deployStackResult,
  errorCodes: [...DeployStackCommand.errorCodes, "ROLLBACK_TARGET_MISMATCH"],
  example: {
    payload: {
      ...DEPLOY_EXAMPLE,
      targetReleaseId: DEPLOY_EXAMPLE.labels["io.stackyard.release"]!,
      fromReleaseId: "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
    },
    result: { deploymentId: "d3f1a2b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b", status: "started" },
  },
};

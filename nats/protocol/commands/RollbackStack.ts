/** RollbackStack (control plane → agent): Deploy an older release: a DeployStack that names the release it returns to. */
import type { JSONSchemaType } from "ajv";
import { token } from "../schema.js";
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

/** A deploy of an older release: the same fields, plus which release it returns to. */
export interface RollbackStack extends DeployStack {
  targetReleaseId: string;
}
const rollbackStack: JSONSchemaType<RollbackStack> = {
  type: "object",
  additionalProperties: false,
  required: [...deployStackRequired, "targetReleaseId"],
  properties: { ...deployStackProperties, targetReleaseId: token },
};

export const RollbackStackCommand: CommandSpec<RollbackStack, DeployStackResult, "DeployStackResult"> = {
  resultName: "DeployStackResult",
  payload: rollbackStack,
  result: deployStackResult,
  errorCodes: DeployStackCommand.errorCodes,
  example: {
    payload: { ...DEPLOY_EXAMPLE, targetReleaseId: "r-41" },
    result: { deploymentId: "d3f1a2b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b", status: "started" },
  },
};

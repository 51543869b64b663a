/** DeployStack (control plane → agent): Deploy a rendered compose file as a Swarm stack (`docker stack deploy -c -`), streaming events. */
import type { JSONSchemaType } from "ajv";
import { MAX_COMPOSE_CHARS, MAX_SECRET_VALUE_CHARS, nonEmpty, stackName, text, token } from "../schema.js";
import type { CommandSpec } from "./spec.js";

export interface SecretPayload {
  /** The versioned Swarm secret name the compose file refers to, e.g. `web_db_password_v3`. */
  name: string;
  value: string;
}
const secretPayload: JSONSchemaType<SecretPayload> = {
  type: "object",
  additionalProperties: false,
  required: ["name", "value"],
  properties: {
    name: { type: "string", pattern: "^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$" },
    value: text(MAX_SECRET_VALUE_CHARS),
  },
};

export const RESOLVE_IMAGE_MODES = ["always", "changed", "never"] as const;
export type ResolveImageMode = (typeof RESOLVE_IMAGE_MODES)[number];

export interface DeployStack {
  deploymentId: string;
  stackName: string;
  /** The fully rendered compose file, passed to `docker stack deploy -c -`. */
  composeYaml: string;
  /** Variables for compose interpolation. */
  env: Record<string, string>;
  secrets: SecretPayload[];
  prune: boolean;
  resolveImage: ResolveImageMode;
  withRegistryAuth: boolean;
  timeoutSeconds: number;
  /**
   * The seq of the agent's first event for this deployment: the control plane has already written the
   * deployment's events before it, so both numberings form one gap-free sequence.
   */
  firstSeq: number;
}
export const deployStackProperties = {
  deploymentId: token,
  stackName,
  composeYaml: nonEmpty(MAX_COMPOSE_CHARS),
  env: {
    type: "object",
    maxProperties: 1_000,
    required: [],
    propertyNames: { pattern: "^[A-Za-z_][A-Za-z0-9_]{0,255}$" },
    additionalProperties: { type: "string", maxLength: 64 * 1024 },
  },
  secrets: { type: "array", maxItems: 200, items: secretPayload },
  prune: { type: "boolean" },
  resolveImage: { type: "string", enum: RESOLVE_IMAGE_MODES },
  withRegistryAuth: { type: "boolean" },
  timeoutSeconds: { type: "integer", minimum: 1, maximum: 24 * 3600 },
  firstSeq: { type: "integer", minimum: 0, maximum: 1_000_000 },
} as const;
export const deployStackRequired = [
  "deploymentId",
  "stackName",
  "composeYaml",
  "env",
  "secrets",
  "prune",
  "resolveImage",
  "withRegistryAuth",
  "timeoutSeconds",
  "firstSeq",
] as const;
const deployStack: JSONSchemaType<DeployStack> = {
  type: "object",
  additionalProperties: false,
  required: deployStackRequired,
  properties: deployStackProperties,
};

export interface DeployStackResult {
  deploymentId: string;
  /** `duplicate`: a deployment with this id already ran or runs; nothing new was started. */
  status: "started" | "duplicate";
}
export const deployStackResult: JSONSchemaType<DeployStackResult> = {
  type: "object",
  additionalProperties: false,
  required: ["deploymentId", "status"],
  properties: { deploymentId: token, status: { type: "string", enum: ["started", "duplicate"] } },
};

export const DEPLOY_EXAMPLE: DeployStack = {
  deploymentId: "d3f1a2b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b",
  stackName: "web",
  composeYaml: "services:\n  app:\n    image: busybox\n",
  env: { TAG: "1.2.3" },
  secrets: [{ name: "web_db_password_v3", value: "s3cret" }],
  prune: true,
  resolveImage: "never",
  withRegistryAuth: false,
  timeoutSeconds: 300,
  firstSeq: 2,
};

export const DeployStackCommand: CommandSpec<DeployStack, DeployStackResult, "DeployStackResult"> = {
  resultName: "DeployStackResult",
  payload: deployStack,
  result: deployStackResult,
  errorCodes: ["STACK_BUSY", "AGENT_STOPPING"],
  example: {
    payload: DEPLOY_EXAMPLE,
    result: { deploymentId: "d3f1a2b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b", status: "started" },
  },
};

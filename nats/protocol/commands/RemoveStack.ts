/**
 * RemoveStack (control plane → agent): removes an environment's Swarm stack. Only objects carrying the
 * environment's ownership label are removed — services and networks of that stack namespace, secrets and configs
 * of that environment; anything else, in that namespace or not, stays and is reported as left in place.
 */
import type { JSONSchemaType } from "ajv";
import { nonEmpty, stackName, uuid } from "../schema.js";
import type { CommandSpec } from "./spec.js";

export interface RemoveStack {
  stackName: string;
  /** The environment whose `io.stackyard.environment` label marks what may be removed. */
  environmentId: string;
}
const removeStack: JSONSchemaType<RemoveStack> = {
  type: "object",
  additionalProperties: false,
  required: ["stackName", "environmentId"],
  properties: { stackName, environmentId: uuid },
};

/** Names of Swarm objects, per kind. */
export interface SwarmObjectNames {
  services: string[];
  networks: string[];
  secrets: string[];
  configs: string[];
}
/** A removal is bounded by what one stack can hold; the lists stay well inside one reply. */
export const MAX_REMOVED_OBJECTS = 1_000;
const names: JSONSchemaType<string[]> = { type: "array", maxItems: MAX_REMOVED_OBJECTS, items: nonEmpty(255) };
const objectNames: JSONSchemaType<SwarmObjectNames> = {
  type: "object",
  additionalProperties: false,
  required: ["services", "networks", "secrets", "configs"],
  properties: { services: names, networks: names, secrets: names, configs: names },
};

export interface RemoveStackResult {
  stackName: string;
  removed: SwarmObjectNames;
  /** Objects of the stack's namespace without this environment's label: never touched. */
  leftInPlace: SwarmObjectNames;
}
const removeStackResult: JSONSchemaType<RemoveStackResult> = {
  type: "object",
  additionalProperties: false,
  required: ["stackName", "removed", "leftInPlace"],
  properties: { stackName, removed: objectNames, leftInPlace: objectNames },
};

export const RemoveStackCommand: CommandSpec<RemoveStack, RemoveStackResult, "RemoveStackResult"> = {
  resultName: "RemoveStackResult",
  payload: removeStack,
  result: removeStackResult,
  errorCodes: ["STACK_BUSY", "REMOVE_STACK_INCOMPLETE"],
  example: {
    payload: { stackName: "shop-staging", environmentId: "6f1c2b1e-0c0a-4f7e-9a53-2a3f5d9b8c71" },
    result: {
      stackName: "shop-staging",
      removed: {
        services: ["shop-staging_web"],
        networks: ["shop-staging_default"],
        secrets: ["shop-staging_db_password_3fa9c1d2"],
        configs: [],
      },
      leftInPlace: { services: [], networks: [], secrets: [], configs: [] },
    },
  },
};

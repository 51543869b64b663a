/** ScaleService (control plane → agent): Set a service's replicas; answers once the tasks run. */
import type { JSONSchemaType } from "ajv";
import { MAX_REPLICAS, count, nonEmpty, serviceKey, stackName } from "../schema.js";
import type { CommandSpec } from "./spec.js";

export interface ScaleService {
  stackName: string;
  /** The compose service key; the Swarm service is `<stackName>_<service>`. */
  service: string;
  replicas: number;
}
const scaleService: JSONSchemaType<ScaleService> = {
  type: "object",
  additionalProperties: false,
  required: ["stackName", "service", "replicas"],
  properties: { stackName, service: serviceKey, replicas: { type: "integer", minimum: 0, maximum: MAX_REPLICAS } },
};

export interface ScaleServiceResult {
  /** The Swarm service name. */
  service: string;
  previousReplicas: number;
  replicas: number;
}
const scaleServiceResult: JSONSchemaType<ScaleServiceResult> = {
  type: "object",
  additionalProperties: false,
  required: ["service", "previousReplicas", "replicas"],
  properties: { service: nonEmpty(255), previousReplicas: count, replicas: count },
};

export const ScaleServiceCommand: CommandSpec<ScaleService, ScaleServiceResult, "ScaleServiceResult"> = {
  resultName: "ScaleServiceResult",
  payload: scaleService,
  result: scaleServiceResult,
  errorCodes: ["SCALE_FAILED", "SCALE_TIMED_OUT"],
  example: {
    payload: { stackName: "web", service: "app", replicas: 3 },
    result: { service: "web_app", previousReplicas: 2, replicas: 3 },
  },
};

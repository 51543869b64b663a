/**
 * UpdateService (control plane → agent): a day-2 operation on one service of a stack. `restart` replaces every
 * task with the same spec (Swarm's force update, as `docker service update --force`); `rollback` returns the
 * service to the spec it had before its last update (as `docker service rollback`). Answers once Swarm accepted the
 * update; the rollout itself shows in the service's tasks.
 */
import type { JSONSchemaType } from "ajv";
import { nonEmpty, serviceKey, stackName } from "../schema.js";
import type { CommandSpec } from "./spec.js";

export const SERVICE_ACTIONS = ["restart", "rollback"] as const;
export type ServiceAction = (typeof SERVICE_ACTIONS)[number];

export interface UpdateService {
  stackName: string;
  /** The compose service key; the Swarm service is `<stackName>_<service>`. */
  service: string;
  action: ServiceAction;
}
const updateService: JSONSchemaType<UpdateService> = {
  type: "object",
  additionalProperties: false,
  required: ["stackName", "service", "action"],
  properties: { stackName, service: serviceKey, action: { type: "string", enum: [...SERVICE_ACTIONS] } },
};

export interface UpdateServiceResult {
  /** The Swarm service name. */
  service: string;
  action: ServiceAction;
  /** The image the service runs after the update (a rollback may change it). */
  image: string;
}
const updateServiceResult: JSONSchemaType<UpdateServiceResult> = {
  type: "object",
  additionalProperties: false,
  required: ["service", "action", "image"],
  properties: {
    service: nonEmpty(255),
    action: { type: "string", enum: [...SERVICE_ACTIONS] },
    image: nonEmpty(1024),
  },
};

export const UpdateServiceCommand: CommandSpec<UpdateService, UpdateServiceResult, "UpdateServiceResult"> = {
  resultName: "UpdateServiceResult",
  payload: updateService,
  result: updateServiceResult,
  errorCodes: ["SERVICE_NOT_FOUND", "SERVICE_NO_PREVIOUS_SPEC", "SERVICE_UPDATE_FAILED", "STACK_BUSY"],
  example: {
    payload: { stackName: "web", service: "app", action: "restart" },
    result: { service: "web_app", action: "restart", image: "registry.example.com/web/app:1.4.2" },
  },
};

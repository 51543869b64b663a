/**
 * UpdateNode (control plane → agent): sets a Swarm node's availability (active / pause / drain) and/or replaces
 * its labels, as `docker node update` would, and answers with the node as the manager reports it afterwards.
 */
import type { JSONSchemaType } from "ajv";
import { inventoryNode, type InventoryNode } from "../node.js";
import { nonEmpty, NULL } from "../schema.js";
import type { CommandSpec } from "./spec.js";

export const NODE_AVAILABILITIES = ["active", "pause", "drain"] as const;
export type NodeAvailability = (typeof NODE_AVAILABILITIES)[number];
/** Swarm label keys a placement constraint can name (`node.labels.<key>`): no `/`, no spaces. */
export const NODE_LABEL_KEY_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$";
export const MAX_NODE_LABELS = 64;

export interface UpdateNode {
  /** The Swarm node id. */
  nodeId: string;
  /** Null leaves it as it is. */
  availability: NodeAvailability | null;
  /** The node's whole label set after the update; null leaves the labels as they are. */
  labels: Record<string, string> | null;
}
const labels: JSONSchemaType<Record<string, string>> = {
  type: "object",
  maxProperties: MAX_NODE_LABELS,
  propertyNames: { pattern: NODE_LABEL_KEY_PATTERN },
  required: [],
  additionalProperties: { type: "string", maxLength: 256 },
};
const updateNode: JSONSchemaType<UpdateNode> = {
  type: "object",
  additionalProperties: false,
  required: ["nodeId", "availability", "labels"],
  properties: {
    nodeId: nonEmpty(128),
    availability: { anyOf: [{ type: "string", enum: NODE_AVAILABILITIES }, NULL] },
    labels: { anyOf: [labels, NULL] },
  },
};

export type UpdateNodeResult = InventoryNode;

export const UpdateNodeCommand: CommandSpec<UpdateNode, UpdateNodeResult, "UpdateNodeResult"> = {
  resultName: "UpdateNodeResult",
  payload: updateNode,
  result: inventoryNode,
  errorCodes: ["NODE_NOT_FOUND", "NODE_UPDATE_FAILED"],
  example: {
    payload: { nodeId: "qk6cettnbaz6bigeei8lekvof", availability: "drain", labels: { disk: "ssd" } },
    result: {
      id: "qk6cettnbaz6bigeei8lekvof",
      hostname: "worker-1",
      role: "worker",
      availability: "drain",
      status: "ready",
      labels: { disk: "ssd" },
      nanoCpus: 2_000_000_000,
      memoryBytes: 8_000_000_000,
      engineVersion: "26.1.5",
      address: "10.0.0.11",
    },
  },
};

/**
 * A Swarm node as the agent reports it: in every inventory, and as the answer to UpdateNode. Apart from
 * messages.ts so a command's schema can use it without an import cycle (messages.ts imports the commands).
 */
import type { JSONSchemaType } from "ajv";
import { count, nonEmpty, NULL, stringMap, text } from "./schema.js";

export interface InventoryNode {
  id: string;
  hostname: string;
  role: "manager" | "worker";
  availability: "active" | "pause" | "drain";
  status: "unknown" | "down" | "ready" | "disconnected";
  labels: Record<string, string>;
  nanoCpus: number;
  memoryBytes: number;
  engineVersion: string | null;
  address: string | null;
}
export const inventoryNode: JSONSchemaType<InventoryNode> = {
  type: "object",
  additionalProperties: false,
  required: [
    "id",
    "hostname",
    "role",
    "availability",
    "status",
    "labels",
    "nanoCpus",
    "memoryBytes",
    "engineVersion",
    "address",
  ],
  properties: {
    id: nonEmpty(128),
    hostname: text(255),
    role: { type: "string", enum: ["manager", "worker"] },
    availability: { type: "string", enum: ["active", "pause", "drain"] },
    status: { type: "string", enum: ["unknown", "down", "ready", "disconnected"] },
    labels: stringMap(256),
    nanoCpus: count,
    memoryBytes: count,
    engineVersion: { anyOf: [text(128), NULL] },
    address: { anyOf: [text(255), NULL] },
  },
};

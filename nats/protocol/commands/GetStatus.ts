/** GetStatus (control plane → agent): A stack's services and their newest tasks, as Swarm sees them now. */
import type { JSONSchemaType } from "ajv";
import {
  NULL,
  SWARM_SERVICE_REQUIRED,
  count,
  nonEmpty,
  stackName,
  swarmServiceProperties,
  text,
  type SwarmServiceSummary,
} from "../schema.js";
import { liveServiceSpec, swarmUpdateStatus, type LiveServiceSpec, type SwarmUpdateStatus } from "../service-spec.js";
import type { CommandSpec } from "./spec.js";

export interface GetStatus {
  stackName: string;
}
const getStatus: JSONSchemaType<GetStatus> = {
  type: "object",
  additionalProperties: false,
  required: ["stackName"],
  properties: { stackName },
};

export interface TaskStatus {
  id: string;
  nodeId: string | null;
  slot: number | null;
  state: string;
  desiredState: string;
  message: string;
  error: string | null;
  exitCode: number | null;
  timestamp: string;
}
const taskStatus: JSONSchemaType<TaskStatus> = {
  type: "object",
  additionalProperties: false,
  required: ["id", "nodeId", "slot", "state", "desiredState", "message", "error", "exitCode", "timestamp"],
  properties: {
    id: nonEmpty(128),
    nodeId: { anyOf: [text(128), NULL] },
    slot: { anyOf: [count, NULL] },
    state: text(64),
    desiredState: text(64),
    message: text(4096),
    error: { anyOf: [text(4096), NULL] },
    exitCode: { anyOf: [{ type: "integer" }, NULL] },
    timestamp: text(64),
  },
};

export interface ServiceStatus extends SwarmServiceSummary {
  /** Newest first, at most `MAX_TASKS_PER_SERVICE`. */
  tasks: TaskStatus[];
  /**
   * The service's spec, normalised for the drift comparison. Absent from agents older than full drift: the
   * control plane then compares image and replicas only, and says the comparison was partial.
   */
  spec?: LiveServiceSpec;
  /** Swarm's last rolling update of the service; null when none ran. Absent from older agents. */
  updateStatus?: SwarmUpdateStatus | null;
}
export const MAX_TASKS_PER_SERVICE = 50;

export interface GetStatusResult {
  stackName: string;
  /** False when no service carries the stack's label. */
  exists: boolean;
  services: ServiceStatus[];
}
const getStatusResult: JSONSchemaType<GetStatusResult> = {
  type: "object",
  additionalProperties: false,
  required: ["stackName", "exists", "services"],
  properties: {
    stackName,
    exists: { type: "boolean" },
    services: {
      type: "array",
      maxItems: 1_000,
      items: {
        type: "object",
        additionalProperties: false,
        required: [...SWARM_SERVICE_REQUIRED, "tasks"],
        properties: {
          ...swarmServiceProperties,
          tasks: { type: "array", maxItems: MAX_TASKS_PER_SERVICE, items: taskStatus },
          spec: { ...liveServiceSpec, nullable: true },
          updateStatus: { ...swarmUpdateStatus, nullable: true },
        },
      },
    },
  },
};

export const GetStatusCommand: CommandSpec<GetStatus, GetStatusResult, "GetStatusResult"> = {
  resultName: "GetStatusResult",
  payload: getStatus,
  result: getStatusResult,
  errorCodes: [],
  example: {
    payload: { stackName: "web" },
    result: {
      stackName: "web",
      exists: true,
      services: [
        {
          id: "s1",
          name: "web_app",
          image: "busybox:latest",
          mode: "replicated",
          desiredReplicas: 1,
          runningReplicas: 1,
          updatedAt: "2024-01-01T00:00:00Z",
          tasks: [
            {
              id: "t1",
              nodeId: "n1abc",
              slot: 1,
              state: "running",
              desiredState: "running",
              message: "started",
              error: null,
              exitCode: null,
              timestamp: "2024-01-01T00:00:01Z",
            },
          ],
        },
      ],
    },
  },
};

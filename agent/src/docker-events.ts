/**
 * Which Docker engine events the agent reports on `agent.<clusterId>.docker-events`, and how: service and node
 * events as they are, and the container events of Swarm tasks as task events (named by the task, not by the
 * container). Everything else (plain containers, execs, attaches, secrets) stays on the host.
 */
import type { DockerEvent } from "../../nats/protocol/messages.js";

export interface EngineEvent {
  type: string;
  action: string;
  id: string;
  attributes: Record<string, string>;
}

const TASK_ID = "com.docker.swarm.task.id";
const TASK_NAME = "com.docker.swarm.task.name";
/** A task's life as its container shows it; `health_status: …` included, execs and attaches not. */
const TASK_ACTIONS = new Set(["create", "start", "die", "kill", "oom", "stop", "destroy"]);

const clip = (value: string, max: number) => value.slice(0, max);

export function toDockerEvent(event: EngineEvent, clusterId: string, ts: number): DockerEvent | null {
  if (event.type === "service" || event.type === "node") {
    if (!event.id) return null;
    return {
      clusterId,
      ts,
      type: event.type,
      action: clip(event.action, 64) || "unknown",
      id: clip(event.id, 128),
      name: event.attributes.name ? clip(event.attributes.name, 255) : null,
    };
  }
  if (event.type !== "container") return null;
  const taskId = event.attributes[TASK_ID];
  if (!taskId) return null;
  if (!TASK_ACTIONS.has(event.action) && !event.action.startsWith("health_status")) return null;
  return {
    clusterId,
    ts,
    type: "task",
    action: clip(event.action, 64),
    id: clip(taskId, 128),
    name: event.attributes[TASK_NAME] ? clip(event.attributes[TASK_NAME], 255) : null,
  };
}

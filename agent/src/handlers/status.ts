/** The GetStatus command: a stack's services with their tasks, straight from the engine. */
import { MAX_TASKS_PER_SERVICE, type GetStatusResult, type TaskStatus } from "../../../nats/protocol/messages.js";
import type { CommandHandler } from "../commands.js";
import type { DockerEngine, SwarmTask } from "../docker/engine.js";

const toTaskStatus = (t: SwarmTask): TaskStatus => ({
  id: t.id,
  nodeId: t.nodeId,
  slot: t.slot,
  state: t.state,
  desiredState: t.desiredState,
  message: t.message.slice(0, 4096),
  error: t.error === null ? null : t.error.slice(0, 4096),
  exitCode: t.exitCode,
  timestamp: t.timestamp,
});

export async function getStackStatus(
  engine: Pick<DockerEngine, "listServices" | "listTasks">,
  stackName: string,
): Promise<GetStatusResult> {
  const [services, tasks] = await Promise.all([
    engine.listServices({ stack: stackName }),
    engine.listTasks({ stack: stackName }),
  ]);
  const tasksByService = new Map<string, SwarmTask[]>();
  for (const task of tasks) {
    const list = tasksByService.get(task.serviceId) ?? [];
    list.push(task);
    tasksByService.set(task.serviceId, list);
  }
  return {
    stackName,
    exists: services.length > 0,
    services: services
      .map((s) => ({
        id: s.id,
        name: s.name,
        image: s.image,
        mode: s.mode,
        desiredReplicas: s.desiredReplicas,
        runningReplicas: s.runningReplicas,
        updatedAt: s.updatedAt,
        ...(s.spec ? { spec: s.spec } : {}),
        ...(s.updateStatus !== undefined ? { updateStatus: s.updateStatus } : {}),
        tasks: (tasksByService.get(s.id) ?? [])
          .sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : 0))
          .slice(0, MAX_TASKS_PER_SERVICE)
          .map(toTaskStatus),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

export const createGetStatusHandler =
  (engine: Pick<DockerEngine, "listServices" | "listTasks">): CommandHandler<"GetStatus"> =>
  (payload) =>
    getStackStatus(engine, payload.stackName);

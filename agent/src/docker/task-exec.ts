/**
 * TaskExecer over the Engine API (dockerode): finds a task's container and runs `docker exec -it` in it on this
 * engine. The exec's hijacked connection carries the TTY both ways; its exit code is read with an exec inspect
 * once the output ends.
 */
import Docker from "dockerode";
import type { Duplex } from "node:stream";
import { DEFAULT_DOCKER_SOCKET, toEngineError } from "./dockerode-engine.js";
import type { ExecProcess, ExecTaskTarget, TaskExecer } from "./engine.js";

interface TaskInspectJson {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Status?: { State?: string; ContainerStatus?: { ContainerID?: string } };
}

export function createDockerodeTaskExecer(opts: { socketPath?: string } = {}): TaskExecer {
  const socketPath = opts.socketPath ?? DEFAULT_DOCKER_SOCKET;
  const docker = new Docker({ socketPath });
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw toEngineError(err, what, socketPath);
    }
  };

  return {
    async localNodeId() {
      const info = (await call("get info", () => docker.info())) as { Swarm?: { NodeID?: string } };
      return info.Swarm?.NodeID ?? "";
    },

    async inspectTask(taskId): Promise<ExecTaskTarget | null> {
      let task: TaskInspectJson;
      try {
        task = (await docker.getTask(taskId).inspect()) as TaskInspectJson;
      } catch (err) {
        const engineError = toEngineError(err, `inspect task ${taskId}`, socketPath);
        if (engineError.code === "DOCKER_NOT_FOUND") return null;
        throw engineError;
      }
      const nodeId = task.NodeID || null;
      let nodeHostname: string | null = null;
      if (nodeId) {
        const node = (await call(`inspect node ${nodeId}`, () => docker.getNode(nodeId).inspect()).catch(
          () => null,
        )) as { Description?: { Hostname?: string } } | null;
        nodeHostname = node?.Description?.Hostname || null;
      }
      return {
        id: task.ID,
        serviceId: task.ServiceID,
        nodeId,
        nodeHostname,
        state: task.Status?.State ?? "unknown",
        containerId: task.Status?.ContainerStatus?.ContainerID || null,
      };
    },

    async exec(containerId, { command, cols, rows }): Promise<ExecProcess> {
      const container = docker.getContainer(containerId);
      const exec = await call(`create exec in container ${containerId}`, () =>
        container.exec({
          Cmd: command,
          AttachStdin: true,
          AttachStdout: true,
          AttachStderr: true,
          Tty: true,
          ConsoleSize: [rows, cols],
        }),
      );
      const stream = (await call(`start exec in container ${containerId}`, () =>
        exec.start({ hijack: true, stdin: true, Tty: true }),
      )) as Duplex;
      // Daemons before API 1.42 ignore ConsoleSize: sized once started, as `docker exec` does, before the caller
      // hears of the session (so anything it types meets a terminal of the right size).
      await exec.resize({ h: rows, w: cols }).catch(() => undefined);
      // Ends with the output: the process exited (or the connection was closed under it).
      const ended = new Promise<void>((resolve) => {
        stream.once("end", resolve);
        stream.once("close", resolve);
        stream.once("error", () => resolve());
      });
      const exited = ended.then(async () => {
        const info = await exec.inspect().catch(() => null);
        return info && !info.Running && typeof info.ExitCode === "number" ? info.ExitCode : null;
      });
      return {
        onData: (listener) => stream.on("data", listener),
        write: (data) => {
          if (!stream.destroyed) stream.write(data);
        },
        resize: async (c, r) => {
          await call(`resize exec in container ${containerId}`, () => exec.resize({ h: r, w: c }));
        },
        exited,
        hangUp: () => stream.destroy(),
      };
    },
  };
}

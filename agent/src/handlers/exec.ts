/**
 * StartExec: a terminal in a running task's container on this engine (`docker exec -it`). The output goes out on
 * the session's own subject as it arrives; the input (keystrokes, resizes, pings) comes in on the session's input
 * subject, which only the control plane may publish to. Each session is bounded: it ends when its process exits,
 * the control plane closes it, no keystroke arrived for its idle time, no message at all arrived for its lease (the
 * gateway that held it is gone), its maximum length passed, or the agent stops.
 *
 * Docker has no exec kill: ending a session from this side hangs up its terminal (stdin ends, an interactive shell
 * exits); a process that ignores that keeps running in the container until it ends on its own.
 */
import type {
  ExecEndReason,
  ExecInputMessage,
  ExecOutputMessage,
  StartExec,
  StartExecResult,
} from "../../../nats/protocol/commands/index.js";
import { decodeExecInput, encodeExecMessage, MAX_EXEC_CHUNK_BYTES } from "../../../nats/protocol/commands/index.js";
import type { CommandHandlers } from "../commands.js";
import { findStackService } from "../deploy/scale.js";
import type { DeployEngine } from "../deploy/types.js";
import type { ExecProcess, TaskExecer } from "../docker/engine.js";
import { HandlerError } from "./errors.js";

export interface ExecLimits {
  /** Sessions open at once on this agent (each holds one NATS subscription of the agent's 32). */
  maxSessions: number;
  /** How often a session checks its idle time, lease and maximum length. */
  checkMs: number;
}

export const DEFAULT_EXEC_LIMITS: ExecLimits = { maxSessions: 4, checkMs: 1_000 };

export interface ExecSubscription {
  unsubscribe(): void;
}

export interface ExecDeps {
  engine: DeployEngine;
  execer: TaskExecer;
  outputSubject: (sessionId: string) => string;
  inputSubject: (sessionId: string) => string;
  /** Core NATS publish (at most once). */
  publish: (subject: string, data: Uint8Array) => void;
  /** Core NATS subscription on the agent's connection. */
  /** `onError`: the subscription failed (a permissions violation: credentials minted before exec existed). */
  listen: (subject: string, onMessage: (data: Uint8Array) => void, onError: (err: Error) => void) => ExecSubscription;
  now: () => number;
  /** Aborted when the agent stops: every session ends. */
  signal: AbortSignal;
  limits?: Partial<ExecLimits>;
}

interface Session {
  end(reason: ExecEndReason, exitCode?: number | null, message?: string | null): void;
}

export class ExecSessionManager {
  private readonly sessions = new Map<string, Session>();
  /** Sessions between their checks and their start: counted against the limit too. */
  private starting = 0;
  private readonly limits: ExecLimits;

  constructor(private readonly deps: ExecDeps) {
    this.limits = { ...DEFAULT_EXEC_LIMITS, ...deps.limits };
    deps.signal.addEventListener("abort", () => this.stopAll("agent_stopping"), { once: true });
  }

  get size(): number {
    return this.sessions.size;
  }

  handlers(): Pick<CommandHandlers, "StartExec"> {
    return { StartExec: (p) => this.startExec(p) };
  }

  stopAll(reason: ExecEndReason): void {
    for (const session of [...this.sessions.values()]) session.end(reason);
  }

  private async startExec(p: StartExec): Promise<StartExecResult> {
    if (this.sessions.has(p.sessionId)) {
      throw new HandlerError("EXEC_SESSION_EXISTS", `exec session ${p.sessionId} is already open`);
    }
    if (this.sessions.size + this.starting >= this.limits.maxSessions) {
      throw new HandlerError(
        "TOO_MANY_EXEC_SESSIONS",
        `this agent already has ${this.limits.maxSessions} exec sessions open (at most ${this.limits.maxSessions} at once)`,
      );
    }
    this.starting += 1;
    try {
      const { deps } = this;
      const service = await findStackService(deps.engine, p.stackName, p.service);
      const task = await deps.execer.inspectTask(p.taskId);
      if (!task || task.serviceId !== service.id) {
        throw new HandlerError("TASK_NOT_FOUND", `${service.name} has no task ${p.taskId}`);
      }
      const base = {
        sessionId: p.sessionId,
        service: service.name,
        taskId: task.id,
        nodeId: task.nodeId ?? "",
        nodeHostname: task.nodeHostname,
      };
      if (task.nodeId !== (await deps.execer.localNodeId())) return { ...base, started: false, containerId: null };
      if (task.state !== "running" || !task.containerId) {
        throw new HandlerError("TASK_NOT_RUNNING", `task ${task.id} is ${task.state}, not running`);
      }
      this.open(p, await this.execIn(task.containerId, p));
      return { ...base, started: true, containerId: task.containerId };
    } finally {
      this.starting -= 1;
    }
  }

  private async execIn(containerId: string, p: StartExec): Promise<ExecProcess> {
    try {
      return await this.deps.execer.exec(containerId, { command: p.command, cols: p.cols, rows: p.rows });
    } catch (err) {
      throw new HandlerError(
        "EXEC_FAILED",
        `could not start ${JSON.stringify(p.command[0])} in the task's container: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }

  private open(p: StartExec, proc: ExecProcess): void {
    const { deps, limits } = this;
    const outputSubject = deps.outputSubject(p.sessionId);
    const send = (message: ExecOutputMessage) => {
      try {
        deps.publish(outputSubject, encodeExecMessage(message));
      } catch {
        // Disconnected: core NATS drops it, as it would a message nobody reads.
      }
    };
    const startedAt = deps.now();
    let lastInput = startedAt;
    let lastMessage = startedAt;
    let ended = false;
    // Input is applied in the order it was sent: keystrokes after a resize wait for the resize to be done.
    let applied: Promise<unknown> = Promise.resolve();

    const onInput = (message: ExecInputMessage) => {
      lastMessage = deps.now();
      if (message.type === "stdin") {
        lastInput = lastMessage;
        const bytes = Buffer.from(message.data, "base64");
        applied = applied.then(() => proc.write(bytes));
      } else if (message.type === "resize") {
        applied = applied.then(() => proc.resize(message.cols, message.rows).catch(() => undefined));
      } else if (message.type === "close") {
        session.end("closed");
      }
    };
    // Subscribed before the first output leaves, so the control plane can send input at once.
    const subscription = deps.listen(
      deps.inputSubject(p.sessionId),
      (data) => {
        const message = decodeExecInput(data);
        if (message && !ended) onInput(message);
      },
      () =>
        session.end(
          "error",
          null,
          "this agent's NATS credentials do not allow exec input yet: they gain it at the agent's next credential renewal",
        ),
    );

    const session: Session = {
      end: (reason, exitCode = null, message = null) => {
        if (ended) return;
        ended = true;
        clearInterval(checkTimer);
        subscription.unsubscribe();
        this.sessions.delete(p.sessionId);
        if (reason !== "exited") proc.hangUp();
        send({ type: "end", reason, exitCode, message });
      },
    };
    this.sessions.set(p.sessionId, session);

    proc.onData((chunk) => {
      if (ended) return;
      for (let at = 0; at < chunk.length; at += MAX_EXEC_CHUNK_BYTES) {
        send({ type: "data", data: chunk.subarray(at, at + MAX_EXEC_CHUNK_BYTES).toString("base64") });
      }
    });
    proc.exited.then(
      (exitCode) => session.end("exited", exitCode),
      (err: unknown) => session.end("error", null, err instanceof Error ? err.message.slice(0, 500) : String(err)),
    );
    const checkTimer = setInterval(() => {
      const now = deps.now();
      if (now - startedAt >= p.maxSeconds * 1000) {
        session.end("max_duration", null, `sessions last at most ${p.maxSeconds} s`);
      } else if (now - lastMessage >= p.leaseSeconds * 1000) {
        session.end("lease_expired", null, "the control plane stopped keeping the session open");
      } else if (now - lastInput >= p.idleSeconds * 1000) {
        session.end("idle_timeout", null, `no input for ${p.idleSeconds} s`);
      }
    }, limits.checkMs);
  }
}

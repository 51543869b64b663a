/**
 * Exec sessions into a running task (the WebSocket route `…/tasks/{taskId}/exec`): the agent command behind them
 * and their audit. The gateway holds the socket and both byte streams (services/api/exec-socket.ts); this module
 * resolves the environment in the caller's org, sends the signed StartExec, and writes the audit rows: one at the
 * start (who, which task, which command, refused or not) and one at the end (exit code, why, the transcript).
 */
import { AgentRejectedError, AgentUnreachableError, sendAgentCommand } from "../_shared/agent-commands.js";
import { ConflictError, NotFoundError, TooManyRequestsError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import { findEnvironment } from "../stacks/index.js";
import type { ExecEndReason } from "../../nats/protocol/commands/index.js";
import { agentSubjects, execInputSubject } from "../../nats/protocol/subjects.js";
import type { RuntimeDeps } from "./runtime.logic.js";

/** The agent ends a session this long after the gateway's last message; the gateway pings every EXEC_PING_MS. */
export const EXEC_LEASE_SECONDS = 30;
export const EXEC_PING_MS = 10_000;
/** No keystroke for this long ends a session. */
export const EXEC_IDLE_SECONDS = 15 * 60;
/** No session lasts longer. */
export const EXEC_MAX_SECONDS = 60 * 60;
/** What one session's end row keeps of its input and output; the rest is counted, not stored. */
export const EXEC_TRANSCRIPT_OUTPUT_BYTES = 64 * 1024;
export const EXEC_TRANSCRIPT_INPUT_BYTES = 16 * 1024;
export const DEFAULT_EXEC_COMMAND = ["/bin/sh"];

export type ExecSessionStep = "target" | "start" | "end";

export interface ExecTarget {
  clusterId: string;
  outputSubject: string;
  inputSubject: string;
}

export interface ExecSessionInput {
  environmentId: string;
  service: string;
  taskId: string;
  sessionId: string;
  command: string[];
  cols: number;
  rows: number;
}

export interface ExecStarted extends ExecTarget {
  sessionId: string;
  service: string;
  taskId: string;
  nodeId: string;
  containerId: string;
}

/** What the gateway recorded of a session, bounded by EXEC_TRANSCRIPT_*_BYTES. */
export interface ExecTranscript {
  input: string;
  output: string;
  inputBytes: number;
  outputBytes: number;
  truncated: boolean;
}

export interface ExecEnd {
  sessionId: string;
  service: string;
  taskId: string;
  reason: ExecEndReason | "revoked" | "agent_unreachable";
  exitCode: number | null;
  durationMs: number;
  transcript: ExecTranscript;
}

/** Where a session's bytes travel, so the gateway can subscribe before the agent starts it. */
export async function execTarget(
  scope: TenantScope,
  input: { environmentId: string; sessionId: string },
): Promise<ExecTarget> {
  const env = await findEnvironment(scope, input.environmentId);
  return {
    clusterId: env.cluster_id,
    outputSubject: agentSubjects(env.cluster_id).execOutput(input.sessionId),
    inputSubject: execInputSubject(env.cluster_id, input.sessionId),
  };
}

export async function startExecSession(
  deps: RuntimeDeps,
  scope: TenantScope,
  principal: Principal,
  input: ExecSessionInput,
  request: RequestInfo,
): Promise<ExecStarted> {
  const env = await findEnvironment(scope, input.environmentId);
  const audit = (data: Record<string, unknown>) =>
    recordAudit(
      scope,
      {
        ...actorOf(principal),
        action: "exec.start",
        targetType: "environment",
        targetId: env.id,
        data: {
          sessionId: input.sessionId,
          service: input.service,
          taskId: input.taskId,
          command: input.command,
          ...data,
        },
      },
      request,
    );
  let result;
  try {
    result = await sendAgentCommand(
      deps.nc,
      deps.commandSigningSeed,
      { orgId: scope.orgId, clusterId: env.cluster_id },
      "StartExec",
      {
        sessionId: input.sessionId,
        stackName: env.swarm_stack,
        service: input.service,
        taskId: input.taskId,
        command: input.command,
        cols: input.cols,
        rows: input.rows,
        idleSeconds: EXEC_IDLE_SECONDS,
        maxSeconds: EXEC_MAX_SECONDS,
        leaseSeconds: EXEC_LEASE_SECONDS,
      },
      { timeoutMs: deps.statusTimeoutMs },
    );
  } catch (err) {
    const e = err as { type?: unknown; agentCode?: unknown; message?: unknown };
    const code = typeof e.agentCode === "string" ? e.agentCode : typeof e.type === "string" ? e.type : "ERROR";
    await audit({ outcome: "failed", code });
    throw execStartError(err, input);
  }
  if (!result.started) {
    await audit({ outcome: "refused", code: "TASK_ON_OTHER_NODE", nodeId: result.nodeId });
    const node = result.nodeHostname ? `${result.nodeHostname} (${result.nodeId})` : result.nodeId;
    throw new ConflictError(
      "TASK_ON_OTHER_NODE",
      `task ${input.taskId} runs on node ${node}, not on the node of the cluster's agent: Swarm has no remote exec, so only tasks on the agent's node can be entered`,
      { nodeId: result.nodeId, nodeHostname: result.nodeHostname },
    );
  }
  await audit({ outcome: "started", nodeId: result.nodeId, containerId: result.containerId });
  return {
    clusterId: env.cluster_id,
    outputSubject: agentSubjects(env.cluster_id).execOutput(input.sessionId),
    inputSubject: execInputSubject(env.cluster_id, input.sessionId),
    sessionId: input.sessionId,
    service: result.service,
    taskId: result.taskId,
    nodeId: result.nodeId,
    containerId: result.containerId ?? "",
  };
}

export async function endExecSession(
  scope: TenantScope,
  principal: Principal,
  input: { environmentId: string; end: ExecEnd },
  request: RequestInfo,
): Promise<{ recorded: true }> {
  const env = await findEnvironment(scope, input.environmentId);
  await recordAudit(
    scope,
    {
      ...actorOf(principal),
      action: "exec.end",
      targetType: "environment",
      targetId: env.id,
      data: { ...input.end },
    },
    request,
  );
  return { recorded: true };
}

/** The agent's refusals as the caller's codes, never a broker message. */
function execStartError(err: unknown, input: ExecSessionInput): unknown {
  if (err instanceof AgentRejectedError) {
    switch (err.agentCode) {
      case "SERVICE_NOT_FOUND":
        return new NotFoundError("SERVICE_NOT_FOUND", `the stack has no service "${input.service}"`);
      case "TASK_NOT_FOUND":
        return new NotFoundError("TASK_NOT_FOUND", `service "${input.service}" has no task ${input.taskId}`);
      case "TASK_NOT_RUNNING":
        return new ConflictError(
          "TASK_NOT_RUNNING",
          `task ${input.taskId} is not running: only a running task can be entered`,
        );
      case "TOO_MANY_EXEC_SESSIONS":
        return new TooManyRequestsError(
          "TOO_MANY_EXEC_SESSIONS",
          "the cluster's agent already holds as many exec sessions as it allows at once: close another terminal or try later",
          EXEC_LEASE_SECONDS,
        );
      case "EXEC_FAILED":
        return new ConflictError(
          "EXEC_FAILED",
          `the command could not be started in the task's container (is ${JSON.stringify(input.command[0])} in its image?)`,
        );
    }
  }
  if (err instanceof AgentUnreachableError) {
    return new AgentUnreachableError(`${err.message}: no terminal was opened`, err.reason);
  }
  return err;
}

/**
 * StartExec (control plane → agent): a terminal in one running task's container (`docker exec -it`). The session's
 * bytes then travel on two per-session subjects, not in commands: the agent publishes the terminal's output on
 * `agent.<clusterId>.exec.<sessionId>` (ExecOutputMessage) and reads the control plane's keystrokes, resizes and
 * pings on `exec-in.<clusterId>.<sessionId>` (ExecInputMessage), which only the control plane can publish to.
 * The session ends when its process exits, the control plane closes it, no input arrived for `idleSeconds`,
 * nothing at all (not even a ping) arrived for `leaseSeconds`, `maxSeconds` passed, or the agent stops.
 *
 * Swarm has no remote exec: only a task on the agent's own engine can be entered. A task on another node is not
 * an error of the command: the result says where it runs (`started: false`), so the caller can name the node.
 */
import type { JSONSchemaType } from "ajv";
import { NULL, serviceKey, stackName, text, token } from "../schema.js";
import type { CommandSpec } from "./spec.js";

export const MAX_EXEC_ARGS = 64;
export const MAX_EXEC_ARG_CHARS = 4_096;
export const MAX_TERMINAL_SIZE = 1_000;
export const MIN_EXEC_IDLE_SECONDS = 10;
export const MAX_EXEC_IDLE_SECONDS = 3_600;
export const MIN_EXEC_SECONDS = 10;
export const MAX_EXEC_SECONDS = 8 * 3_600;
export const MIN_EXEC_LEASE_SECONDS = 5;
export const MAX_EXEC_LEASE_SECONDS = 120;
/** One output or input message carries at most this many bytes of terminal data (base64 in JSON). */
export const MAX_EXEC_CHUNK_BYTES = 32 * 1024;

export interface StartExec {
  /** Chosen by the control plane (a UUID): names the session in its subjects. */
  sessionId: string;
  stackName: string;
  /** The compose service key; the task must belong to `<stackName>_<service>`. */
  service: string;
  taskId: string;
  /** The process to run, as an argument vector (never a shell string). */
  command: string[];
  cols: number;
  rows: number;
  idleSeconds: number;
  maxSeconds: number;
  leaseSeconds: number;
}
const dimension = { type: "integer", minimum: 1, maximum: MAX_TERMINAL_SIZE } as const;
const startExec: JSONSchemaType<StartExec> = {
  type: "object",
  additionalProperties: false,
  required: [
    "sessionId",
    "stackName",
    "service",
    "taskId",
    "command",
    "cols",
    "rows",
    "idleSeconds",
    "maxSeconds",
    "leaseSeconds",
  ],
  properties: {
    sessionId: token,
    stackName,
    service: serviceKey,
    taskId: token,
    command: {
      type: "array",
      minItems: 1,
      maxItems: MAX_EXEC_ARGS,
      items: { type: "string", minLength: 1, maxLength: MAX_EXEC_ARG_CHARS },
    },
    cols: dimension,
    rows: dimension,
    idleSeconds: { type: "integer", minimum: MIN_EXEC_IDLE_SECONDS, maximum: MAX_EXEC_IDLE_SECONDS },
    maxSeconds: { type: "integer", minimum: MIN_EXEC_SECONDS, maximum: MAX_EXEC_SECONDS },
    leaseSeconds: { type: "integer", minimum: MIN_EXEC_LEASE_SECONDS, maximum: MAX_EXEC_LEASE_SECONDS },
  },
};

export interface StartExecResult {
  sessionId: string;
  /** The Swarm service name. */
  service: string;
  taskId: string;
  /** The Swarm node the task runs on, and its hostname when the manager knows it. */
  nodeId: string;
  nodeHostname: string | null;
  /** False: the task runs on another node than the agent's engine, and nothing was started. */
  started: boolean;
  containerId: string | null;
}
const startExecResult: JSONSchemaType<StartExecResult> = {
  type: "object",
  additionalProperties: false,
  required: ["sessionId", "service", "taskId", "nodeId", "nodeHostname", "started", "containerId"],
  properties: {
    sessionId: token,
    service: text(256),
    taskId: token,
    nodeId: text(128),
    nodeHostname: { anyOf: [text(256), NULL] },
    started: { type: "boolean" },
    containerId: { anyOf: [text(128), NULL] },
  },
};

/** Why a session ended, as told in its last output message. */
export const EXEC_END_REASONS = [
  "exited",
  "closed",
  "idle_timeout",
  "max_duration",
  "lease_expired",
  "agent_stopping",
  "error",
] as const;
export type ExecEndReason = (typeof EXEC_END_REASONS)[number];

/** Agent → control plane on `agent.<clusterId>.exec.<sessionId>`: terminal output (base64), then the end. */
export type ExecOutputMessage =
  | { type: "data"; data: string }
  | { type: "end"; reason: ExecEndReason; exitCode: number | null; message: string | null };

/** Control plane → agent on `exec-in.<clusterId>.<sessionId>`. A ping only keeps the lease; stdin also the idle clock. */
export type ExecInputMessage =
  | { type: "stdin"; data: string }
  | { type: "resize"; cols: number; rows: number }
  | { type: "ping" }
  | { type: "close" };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
const isBase64Chunk = (v: unknown): v is string =>
  typeof v === "string" && v.length <= Math.ceil(MAX_EXEC_CHUNK_BYTES / 3) * 4 && /^[A-Za-z0-9+/]*={0,2}$/.test(v);
const isDimension = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_TERMINAL_SIZE;

function parseJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return null;
  }
}

/** A session message as the other side sent it, checked; null for anything malformed (dropped, never forwarded). */
export function decodeExecOutput(data: Uint8Array): ExecOutputMessage | null {
  const m = parseJson(data);
  if (!isObject(m)) return null;
  if (m.type === "data" && isBase64Chunk(m.data)) return { type: "data", data: m.data };
  if (m.type === "end" && (EXEC_END_REASONS as readonly unknown[]).includes(m.reason)) {
    const exitCode = Number.isInteger(m.exitCode) ? (m.exitCode as number) : null;
    const message = typeof m.message === "string" ? m.message.slice(0, 1_000) : null;
    return { type: "end", reason: m.reason as ExecEndReason, exitCode, message };
  }
  return null;
}

export function decodeExecInput(data: Uint8Array): ExecInputMessage | null {
  const m = parseJson(data);
  if (!isObject(m)) return null;
  if (m.type === "stdin" && isBase64Chunk(m.data)) return { type: "stdin", data: m.data };
  if (m.type === "resize" && isDimension(m.cols) && isDimension(m.rows)) {
    return { type: "resize", cols: m.cols, rows: m.rows };
  }
  if (m.type === "ping" || m.type === "close") return { type: m.type };
  return null;
}

export const encodeExecMessage = (message: ExecOutputMessage | ExecInputMessage): Uint8Array =>
  new TextEncoder().encode(JSON.stringify(message));

export const StartExecCommand: CommandSpec<StartExec, StartExecResult, "StartExecResult"> = {
  resultName: "StartExecResult",
  payload: startExec,
  result: startExecResult,
  errorCodes: [
    "SERVICE_NOT_FOUND",
    "TASK_NOT_FOUND",
    "TASK_NOT_RUNNING",
    "TOO_MANY_EXEC_SESSIONS",
    "EXEC_SESSION_EXISTS",
    "EXEC_FAILED",
  ],
  example: {
    payload: {
      sessionId: "7a1e2d3c-4b5a-4f60-9e8d-1c2b3a4d5e6f",
      stackName: "web",
      service: "app",
      taskId: "x8k2m4n6p8q0r2s4t6v8w0y2z",
      command: ["/bin/sh"],
      cols: 120,
      rows: 32,
      idleSeconds: 900,
      maxSeconds: 3_600,
      leaseSeconds: 30,
    },
    result: {
      sessionId: "7a1e2d3c-4b5a-4f60-9e8d-1c2b3a4d5e6f",
      service: "web_app",
      taskId: "x8k2m4n6p8q0r2s4t6v8w0y2z",
      nodeId: "n0d3a1b2c3d4e5f6g7h8i9j0k",
      nodeHostname: "manager-1",
      started: true,
      containerId: "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a",
    },
  },
};

/**
 * A terminal in a running task (`GET …/tasks/{taskId}/exec`, a WebSocket): the terminal's output as bytes, the
 * session's start and its end. A refused upgrade reaches a browser only as a close without a start (its HTTP status
 * is not readable from a page), so the caller says the terminal could not be opened and why it may be.
 */
import type { ApiClient } from "./client.js";

export const EXEC_PROTOCOL = "stackyard.exec.v1";

export interface ExecStart {
  sessionId: string;
  taskId: string;
  nodeId: string;
  containerId: string;
}

/** How a session ended: the server's exit event, or `refused` / `closed` when the socket closed without one. */
export interface ExecEnd {
  reason: string;
  exitCode: number | null;
  message: string | null;
}

export interface ExecHandlers {
  onStart: (start: ExecStart) => void;
  onOutput: (bytes: Uint8Array) => void;
  onEnd: (end: ExecEnd) => void;
}

export interface ExecSession {
  send(keys: string): void;
  resize(cols: number, rows: number): void;
  close(): void;
}

export const execPath = (envId: string, service: string, taskId: string, size: { cols: number; rows: number }) =>
  `/v1/environments/${encodeURIComponent(envId)}/services/${encodeURIComponent(service)}/tasks/${encodeURIComponent(taskId)}/exec?cols=${size.cols}&rows=${size.rows}`;

const RESIZE_CHANNEL = 1;
/** WebSocket.OPEN, as a number: the same in every implementation. */
const OPEN = 1;

export async function openExec(
  client: ApiClient,
  target: { envId: string; service: string; taskId: string },
  size: { cols: number; rows: number },
  handlers: ExecHandlers,
): Promise<ExecSession> {
  const ws = await client.webSocket(execPath(target.envId, target.service, target.taskId, size), EXEC_PROTOCOL);
  let started = false;
  let ended = false;
  const end = (e: ExecEnd) => {
    if (ended) return;
    ended = true;
    handlers.onEnd(e);
  };
  ws.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
    if (typeof event.data !== "string") return handlers.onOutput(new Uint8Array(event.data));
    const message = JSON.parse(event.data) as Partial<ExecStart & ExecEnd> & { type?: string };
    if (message.type === "started") {
      started = true;
      handlers.onStart(message as ExecStart);
    } else if (message.type === "exit") {
      end({ reason: String(message.reason), exitCode: message.exitCode ?? null, message: message.message ?? null });
    }
  };
  ws.onclose = () => end({ reason: started ? "closed" : "refused", exitCode: null, message: null });
  return {
    send: (keys) => {
      if (ws.readyState === OPEN) ws.send(keys);
    },
    resize: (cols, rows) => {
      if (ws.readyState !== OPEN) return;
      const json = new TextEncoder().encode(JSON.stringify({ cols, rows }));
      const frame = new Uint8Array(json.length + 1);
      frame[0] = RESIZE_CHANNEL;
      frame.set(json, 1);
      ws.send(frame);
    },
    close: () => ws.close(),
  };
}

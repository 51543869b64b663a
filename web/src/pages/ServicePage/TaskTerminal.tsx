/**
 * An interactive terminal in one running task's container (xterm.js over the exec WebSocket). Keystrokes go to
 * the container's TTY; its size follows the terminal's; the session's end (exit code, timeout, refusal) is written
 * into the terminal and shown beside it.
 */
import type { Terminal } from "@xterm/xterm";
import { useEffect, useRef, useState } from "react";
import { useApiClient } from "../../api/hooks/context.js";
import { openExec, type ExecEnd, type ExecSession } from "../../api/exec.js";

const END_TEXT: Record<string, string> = {
  closed: "The session was closed.",
  idle_timeout: "The session ended: no input for 15 minutes.",
  max_duration: "The session ended: sessions last at most 1 hour.",
  lease_expired: "The agent ended the session (the gateway stopped keeping it open).",
  agent_stopping: "The agent is stopping.",
  agent_unreachable: "The cluster's agent stopped answering.",
  revoked: "Your session ended.",
  error: "The session failed",
  refused:
    "The terminal could not be opened: you may lack the exec:write permission, the task may have stopped, or it runs on another node than the cluster's agent (only tasks on the agent's node can be entered).",
};

export const execEndText = (end: ExecEnd): string =>
  end.reason === "exited"
    ? `The process exited with code ${end.exitCode ?? "unknown"}.`
    : `${END_TEXT[end.reason] ?? `Ended (${end.reason}).`}${end.message ? `: ${end.message}` : ""}`;

export function TaskTerminal(props: { envId: string; service: string; taskId: string; onClose: () => void }) {
  const client = useApiClient();
  const host = useRef<HTMLDivElement | null>(null);
  const [state, setState] = useState<"connecting" | "open" | "ended">("connecting");
  const [outcome, setOutcome] = useState<string | null>(null);

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    let session: ExecSession | null = null;
    let disposed = false;
    const cleanups: Array<() => void> = [];
    // Loaded when a terminal is opened: the page does not carry xterm.js until someone asks for it.
    import("@xterm/xterm")
      .then(({ Terminal: XTerm }) => {
        if (disposed) return;
        const t = new XTerm({ cols: 100, rows: 28, cursorBlink: true });
        t.open(element);
        const input = t.onData((keys) => session?.send(keys));
        const resize = t.onResize(({ cols, rows }) => session?.resize(cols, rows));
        cleanups.push(
          () => input.dispose(),
          () => resize.dispose(),
          () => t.dispose(),
        );
        return start(t);
      })
      .catch((err: unknown) => {
        setOutcome(`The terminal could not be opened: ${err instanceof Error ? err.message : String(err)}`);
        setState("ended");
      });
    const start = (t: Terminal) =>
      openExec(
        client,
        { envId: props.envId, service: props.service, taskId: props.taskId },
        { cols: t.cols, rows: t.rows },
        {
          onStart: () => {
            setState("open");
            t.focus();
          },
          onOutput: (bytes) => t.write(bytes),
          onEnd: (end) => {
            const text = execEndText(end);
            t.write(`\r\n[${text}]\r\n`);
            setOutcome(text);
            setState("ended");
          },
        },
      ).then((s) => {
        if (disposed) s.close();
        else session = s;
      });
    return () => {
      disposed = true;
      session?.close();
      cleanups.forEach((cleanup) => cleanup());
    };
  }, [client, props.envId, props.service, props.taskId]);

  return (
    <section className="card" aria-label="Terminal" data-state={state}>
      <h2>
        Terminal · task <span className="mono">{props.taskId.slice(0, 12)}</span>
      </h2>
      <p className="muted small">
        A shell in the task's container; what you type and what it prints is recorded in the audit log.
      </p>
      <div ref={host} className="terminal" data-testid="terminal" />
      {state === "connecting" && <p className="muted">Opening the terminal…</p>}
      {outcome && (
        <p className="notice" role="status">
          {outcome}
        </p>
      )}
      <button type="button" className="secondary" onClick={props.onClose}>
        {state === "ended" ? "Close" : "End session"}
      </button>
    </section>
  );
}

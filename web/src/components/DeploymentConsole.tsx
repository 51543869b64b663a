import { useLayoutEffect, useRef, useState } from "react";
import type { DeploymentEnd } from "../api/deployment-events.js";
import { useDeploymentEvents, type DeploymentStream } from "../api/hooks/deployments.js";
import type { DeploymentEvent } from "../api/types.js";
import { ErrorNotice } from "./ErrorNotice.js";
import { StatusBadge } from "./StatusBadge.js";

/** Within this many pixels of the bottom the console counts as "following" and scrolls with new lines. */
const STICK_THRESHOLD_PX = 24;

export type ConsoleTone = "error" | "warn" | "stderr" | "debug" | "info";

/** Errors and warnings by level; otherwise the CLI's stderr stands out from the rest of the output. */
export function consoleTone(event: DeploymentEvent): ConsoleTone {
  if (event.level === "error") return "error";
  if (event.level === "warn") return "warn";
  const data = event.data as Record<string, unknown> | null;
  if (data && data.stream === "stderr") return "stderr";
  return event.level === "debug" ? "debug" : "info";
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
function clock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The release hook a line comes from (`pre_deploy`, `post_deploy`), so a hook's output reads apart from docker's. */
export function hookPhaseOf(event: DeploymentEvent): string | null {
  const data = event.data as Record<string, unknown> | null;
  return data && data.source === "hook" && typeof data.phase === "string" ? data.phase : null;
}

function detailOf(event: DeploymentEvent): string | undefined {
  const data = event.data as Record<string, unknown> | null;
  if (!data || Object.keys(data).length === 0) return undefined;
  return JSON.stringify(data, null, 2);
}

/** The live event log of one deployment (SSE), from its first event to its end. */
export function DeploymentConsole(props: {
  deploymentId: string;
  onEvent?: (event: DeploymentEvent) => void;
  onEnd?: (end: DeploymentEnd) => void;
  tall?: boolean;
  /** Streams another event source of the same shape (a release build's output). */
  path?: string;
}) {
  const stream = useDeploymentEvents(
    props.deploymentId,
    {
      ...(props.onEvent ? { onEvent: props.onEvent } : {}),
      ...(props.onEnd ? { onEnd: props.onEnd } : {}),
    },
    props.path,
  );
  return <ConsoleView stream={stream} tall={props.tall ?? false} />;
}

export function ConsoleView(props: { stream: DeploymentStream; tall?: boolean }) {
  const { events, end, state, error } = props.stream;
  const box = useRef<HTMLOListElement>(null);
  const [following, setFollowing] = useState(true);

  useLayoutEffect(() => {
    const el = box.current;
    if (el && following) el.scrollTop = el.scrollHeight;
  }, [events.length, end, following]);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    setFollowing(el.scrollHeight - el.scrollTop - el.clientHeight <= STICK_THRESHOLD_PX);
  };

  return (
    <div className="console-wrap">
      <ol
        ref={box}
        className={props.tall ? "console tall" : "console"}
        role="log"
        aria-label="Deployment events"
        onScroll={onScroll}
      >
        {events.map((e) => {
          const tone = consoleTone(e);
          return (
            <li key={e.seq} className={`console-line tone-${tone}`} data-seq={e.seq} data-tone={tone}>
              <time dateTime={e.ts}>{clock(e.ts)}</time>
              {hookPhaseOf(e) && <span className="console-tag">{hookPhaseOf(e)}</span>}
              <span className="console-msg" title={detailOf(e)}>
                {e.message}
              </span>
            </li>
          );
        })}
        {events.length === 0 && state !== "failed" && <li className="console-line tone-debug">Waiting for events…</li>}
      </ol>
      <div className="console-foot">
        <StreamStatus stream={props.stream} />
        {!following && events.length > 0 && (
          <button type="button" className="secondary small" onClick={() => setFollowing(true)}>
            Jump to latest
          </button>
        )}
      </div>
      {state === "failed" && <ErrorNotice error={error} compact />}
    </div>
  );
}

function StreamStatus(props: { stream: DeploymentStream }) {
  const { end, state, events } = props.stream;
  const count = `${events.length} event${events.length === 1 ? "" : "s"}`;
  if (end) {
    return (
      <span className="console-status" role="status" data-end={end.status}>
        Finished: <StatusBadge status={end.status} /> <span className="muted">· {count}</span>
      </span>
    );
  }
  const text: Record<typeof state, string> = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Connection lost — reconnecting…",
    ended: "Stream ended",
    failed: "The event stream could not be read",
  };
  return (
    <span className={`console-status stream-${state}`} role="status">
      {state === "live" && <span className="live-dot" aria-hidden="true" />}
      {text[state]} <span className="muted">· {count}</span>
    </span>
  );
}

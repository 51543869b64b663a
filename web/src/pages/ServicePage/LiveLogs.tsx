/**
 * "Follow" mode of a service's logs: a live stream from the agent (tail, since and grep applied there) with a
 * Stop button. Only the newest MAX_LIVE_LINES stay in the page, so a chatty service cannot grow the DOM forever.
 */
import { useEffect, useRef, useState } from "react";
import { useApiClient } from "../../api/hooks/context.js";
import { followServiceLogs, type LiveLogEnd } from "../../api/log-follow.js";
import type { LogLine } from "../../api/types.js";

export const MAX_LIVE_LINES = 500;

type NewEntry = { kind: "line"; line: LogLine } | { kind: "notice"; message: string };
type Entry = NewEntry & { n: number };

const END_TEXT: Record<string, string> = {
  stopped: "Stopped.",
  closed: "The connection closed; follow again to continue.",
  lease_expired: "The agent ended the follow (its lease ran out).",
  service_gone: "The service no longer exists on the swarm.",
  agent_stopping: "The agent is stopping.",
  agent_unreachable: "The cluster's agent stopped answering.",
  revoked: "Your session ended.",
  error: "The log stream failed",
};

const endText = (end: LiveLogEnd): string =>
  `${END_TEXT[end.reason] ?? `Ended (${end.reason}).`}${end.message ? `: ${end.message}` : ""}`;

export function LiveLogs(props: { envId: string; service: string }) {
  const client = useApiClient();
  const [tail, setTail] = useState("50");
  const [sinceMinutes, setSinceMinutes] = useState(0);
  const [grep, setGrep] = useState("");
  const [entries, setEntries] = useState<Entry[]>([]);
  const [state, setState] = useState<"idle" | "connecting" | "live">("idle");
  const [outcome, setOutcome] = useState<string | null>(null);
  const controller = useRef<AbortController | null>(null);
  const counter = useRef(0);

  useEffect(() => () => controller.current?.abort(), []);

  const add = (entry: NewEntry) => {
    const e: Entry = { ...entry, n: counter.current++ };
    setEntries((prev) => {
      const next = prev.length >= MAX_LIVE_LINES ? prev.slice(prev.length - MAX_LIVE_LINES + 1) : prev.slice();
      next.push(e);
      return next;
    });
  };

  const start = () => {
    controller.current?.abort();
    const c = new AbortController();
    controller.current = c;
    const n = Number(tail);
    setEntries([]);
    setOutcome(null);
    setState("connecting");
    followServiceLogs(
      client,
      props.envId,
      props.service,
      {
        tail: Number.isInteger(n) && n >= 0 && n <= 1000 ? n : 50,
        ...(sinceMinutes > 0 ? { since: Math.floor(Date.now() / 1000) - sinceMinutes * 60 } : {}),
        ...(grep ? { grep } : {}),
      },
      {
        onOpen: () => setState("live"),
        onLine: (line) => add({ kind: "line", line }),
        onNotice: (message) => add({ kind: "notice", message }),
      },
      c.signal,
    ).then(
      (end) => {
        if (controller.current !== c) return;
        setState("idle");
        setOutcome(endText(end));
      },
      (e: unknown) => {
        if (controller.current !== c) return;
        setState("idle");
        setOutcome(`Could not follow the logs: ${e instanceof Error ? e.message : String(e)}`);
      },
    );
  };

  const stop = () => {
    controller.current?.abort();
    controller.current = null;
    setState("idle");
    setOutcome(END_TEXT.stopped!);
  };

  const following = state !== "idle";
  return (
    <div className="live-logs" aria-label="Live logs">
      <h3>Follow</h3>
      <p className="muted small">
        New lines as the agent reads them (at most {MAX_LIVE_LINES} kept here); “Only lines with” is matched on the
        agent, case-sensitive.
      </p>
      <form
        className="filters"
        aria-label="Follow filters"
        onSubmit={(e) => {
          e.preventDefault();
          start();
        }}
      >
        <label>
          Last lines first
          <input
            type="number"
            name="followTail"
            min={0}
            max={1000}
            value={tail}
            disabled={following}
            onChange={(e) => setTail(e.target.value)}
          />
        </label>
        <label>
          Since
          <select
            name="followSince"
            value={sinceMinutes}
            disabled={following}
            onChange={(e) => setSinceMinutes(Number(e.target.value))}
          >
            <option value={0}>any time</option>
            <option value={5}>5 minutes ago</option>
            <option value={60}>1 hour ago</option>
          </select>
        </label>
        <label>
          Only lines with
          <input
            name="followGrep"
            value={grep}
            maxLength={200}
            disabled={following}
            placeholder="text to match"
            onChange={(e) => setGrep(e.target.value)}
          />
        </label>
        <div className="filter-buttons">
          {/* Distinct keys: React must not turn the clicked Stop into a submit button before the click's default
              action runs (that would start a new follow at once). */}
          {following ? (
            <button
              key="stop"
              type="button"
              onClick={(e) => {
                e.preventDefault();
                stop();
              }}
            >
              Stop
            </button>
          ) : (
            <button key="follow" type="submit">
              Follow
            </button>
          )}
        </div>
      </form>
      <p className="muted small" role="status">
        {state === "connecting" ? "Connecting…" : state === "live" ? "Following live." : (outcome ?? "")}
      </p>
      {entries.length > 0 && (
        <ol className="console logs" aria-label="Live log lines">
          {entries.map((e) =>
            e.kind === "notice" ? (
              <li key={e.n} className="console-line notice">
                <span className="console-msg">{e.message}</span>
              </li>
            ) : (
              <li key={e.n} className={e.line.stream === "stderr" ? "console-line stderr" : "console-line"}>
                <time className="console-time" dateTime={e.line.ts ?? undefined}>
                  {e.line.ts ? new Date(e.line.ts.replace(/(\.\d{3})\d+/, "$1")).toLocaleTimeString() : ""}
                </time>{" "}
                <span className="console-msg">{e.line.line}</span>
              </li>
            ),
          )}
        </ol>
      )}
    </div>
  );
}

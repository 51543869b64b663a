import { useState, type ReactNode } from "react";
import { Link } from "react-router-dom";
import type { ClusterNode, EnvironmentStatus, LogLine, ServiceLogs, ServiceStatus } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { PageHeader } from "../../components/PageHeader.js";
import { formatDateTime, RelativeTime } from "../../components/RelativeTime.js";
import { StatusBadge } from "../../components/StatusBadge.js";

export interface LogQuery {
  tail: number;
  /** Minutes back from now; 0 for no lower bound. */
  sinceMinutes: number;
  grep: string;
  /** Re-read the logs every few seconds until stopped. */
  refreshing: boolean;
}

/** dockerd stamps lines with nanoseconds; Date parses milliseconds. */
const parseTs = (ts: string): Date | null => {
  const d = new Date(ts.replace(/(\.\d{3})\d+/, "$1"));
  return Number.isNaN(d.getTime()) ? null : d;
};

function TasksTable(props: {
  service: ServiceStatus;
  nodeName: (id: string | null) => string;
  onTerminal: ((taskId: string) => void) | undefined;
}) {
  if (props.service.tasks.length === 0) return <p className="muted">No tasks reported for this service.</p>;
  const tasks = [...props.service.tasks].sort((a, b) => (b.timestamp ?? "").localeCompare(a.timestamp ?? ""));
  return (
    <table className="table" aria-label="Tasks">
      <thead>
        <tr>
          <th>Task</th>
          <th>Node</th>
          <th>State</th>
          <th>Error / message</th>
          <th>Since</th>
          {props.onTerminal && <th aria-label="Terminal" />}
        </tr>
      </thead>
      <tbody>
        {tasks.map((t) => (
          <tr key={t.id} data-task={t.id} data-state={t.state}>
            <td className="mono small" title={t.id}>
              {t.id.slice(0, 12)}
            </td>
            <td>{props.nodeName(t.nodeId)}</td>
            <td>
              <StatusBadge status={t.state} />
              {t.desiredState !== t.state && <span className="muted small"> → {t.desiredState}</span>}
            </td>
            <td className={t.error ? "bad small" : "muted small"}>{t.error ?? t.message ?? "—"}</td>
            <td className="nowrap">
              {t.timestamp ? (
                <span title={formatDateTime(t.timestamp)}>
                  <RelativeTime iso={t.timestamp} />
                </span>
              ) : (
                "—"
              )}
            </td>
            {props.onTerminal && (
              <td>
                {t.state === "running" && (
                  <button type="button" className="secondary small" onClick={() => props.onTerminal?.(t.id)}>
                    Terminal
                  </button>
                )}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function LogLines(props: { logs: ServiceLogs; grep: string }) {
  let lines: LogLine[] = props.logs.lines;
  const needle = props.grep.trim().toLowerCase();
  if (needle) lines = lines.filter((l) => l.line.toLowerCase().includes(needle));
  if (lines.length === 0) {
    return (
      <p className="muted">{needle ? `No line contains “${props.grep.trim()}”.` : "No log lines in this range."}</p>
    );
  }
  return (
    <ol className="console logs" aria-label="Log lines">
      {lines.map((l, i) => {
        const d = l.ts ? parseTs(l.ts) : null;
        return (
          <li key={i} className={l.stream === "stderr" ? "console-line stderr" : "console-line"}>
            <time className="console-time" dateTime={l.ts ?? undefined}>
              {d ? d.toLocaleTimeString() : ""}
            </time>{" "}
            <span className="console-msg">{l.line}</span>
          </li>
        );
      })}
    </ol>
  );
}

function LogControls(props: {
  query: LogQuery;
  onChange: (q: LogQuery) => void;
  onRefresh: () => void;
  busy: boolean;
}) {
  const [tail, setTail] = useState(String(props.query.tail));
  const q = props.query;
  return (
    <form
      className="filters"
      aria-label="Log filters"
      onSubmit={(e) => {
        e.preventDefault();
        const n = Number(tail);
        props.onChange({ ...q, tail: Number.isInteger(n) && n >= 1 && n <= 5000 ? n : q.tail });
      }}
    >
      <label>
        Last lines
        <input type="number" name="tail" min={1} max={5000} value={tail} onChange={(e) => setTail(e.target.value)} />
      </label>
      <label>
        Since
        <select
          name="since"
          value={q.sinceMinutes}
          onChange={(e) => props.onChange({ ...q, sinceMinutes: Number(e.target.value) })}
        >
          <option value={0}>any time</option>
          <option value={5}>5 minutes ago</option>
          <option value={60}>1 hour ago</option>
          <option value={24 * 60}>1 day ago</option>
        </select>
      </label>
      <label>
        Contains
        <input
          name="grep"
          value={q.grep}
          placeholder="text to find"
          onChange={(e) => props.onChange({ ...q, grep: e.target.value })}
        />
      </label>
      <div className="filter-buttons">
        <button type="submit" className="secondary">
          Apply
        </button>
        <button type="button" className="secondary" disabled={props.busy} onClick={props.onRefresh}>
          {props.busy ? "Reading…" : "Refresh"}
        </button>
        <button type="button" onClick={() => props.onChange({ ...q, refreshing: !q.refreshing })}>
          {q.refreshing ? "Stop refreshing" : "Refresh every 3 s"}
        </button>
      </div>
    </form>
  );
}

export function ServiceView(props: {
  title: string;
  service: string;
  backHref: string;
  status: AsyncState<EnvironmentStatus>;
  nodes: ClusterNode[];
  logs: AsyncState<ServiceLogs>;
  logQuery: LogQuery;
  onLogQuery: (q: LogQuery) => void;
  onRefreshLogs: () => void;
  refreshingLogs: boolean;
  actions?: ReactNode;
  /** The live "Follow" view (LiveLogs), under the snapshot. */
  liveLogs?: ReactNode;
  /** Offered on running tasks when the caller may exec (exec:write). */
  onTerminal?: (taskId: string) => void;
  /** The open terminal (TaskTerminal), under the tasks. */
  terminal?: ReactNode;
}) {
  const byId = new Map(props.nodes.map((n) => [n.nodeId, n.hostname]));
  const nodeName = (id: string | null): string => (id ? (byId.get(id) ?? id.slice(0, 12)) : "not scheduled");
  return (
    <>
      <p className="crumbs">
        <Link to={props.backHref}>← Environment</Link>
      </p>
      <PageHeader title={props.title} actions={props.actions} />
      <section className="card" aria-label="Service">
        <AsyncContent state={props.status} loadingLabel="Asking the agent…">
          {(status) => {
            const s = status.services.find((x) => x.name === props.service);
            if (!s) {
              return (
                <p className="notice">
                  The {status.source === "agent" ? "agent" : "last inventory"} reports no service {props.service} in{" "}
                  {status.stackName}.
                </p>
              );
            }
            return (
              <>
                {status.source === "inventory" && (
                  <div className="notice" role="status">
                    The agent did not answer ({status.agentError}); this is the last inventory from{" "}
                    <RelativeTime iso={status.observedAt} />, which has no tasks.
                  </div>
                )}
                <dl className="facts">
                  <div>
                    <dt>Swarm service</dt>
                    <dd className="mono">{s.swarmName}</dd>
                  </div>
                  <div>
                    <dt>Image</dt>
                    <dd className="mono small">{s.image}</dd>
                  </div>
                  <div>
                    <dt>Replicas</dt>
                    <dd data-testid="replicas">
                      {s.runningReplicas}/{s.desiredReplicas} {s.mode === "global" ? "(global)" : ""}
                    </dd>
                  </div>
                  <div>
                    <dt>Observed</dt>
                    <dd>
                      <RelativeTime iso={status.observedAt} />
                    </dd>
                  </div>
                </dl>
                {s.drift.length > 0 && (
                  <p>
                    {s.drift.map((d) => (
                      <span key={d} className="badge badge-warn drift">
                        {d}
                      </span>
                    ))}
                  </p>
                )}
                <h2>Tasks</h2>
                {status.source === "agent" ? (
                  <TasksTable service={s} nodeName={nodeName} onTerminal={props.onTerminal} />
                ) : (
                  <p className="muted">Unknown while the agent is offline.</p>
                )}
              </>
            );
          }}
        </AsyncContent>
      </section>
      {props.terminal}
      <section className="card" aria-label="Logs">
        <h2>Logs</h2>
        <p className="muted small">
          Each read is a snapshot the agent takes from dockerd
          {props.logQuery.refreshing ? ", repeated every 3 s until you stop it" : ""}.
        </p>
        <LogControls
          query={props.logQuery}
          onChange={props.onLogQuery}
          onRefresh={props.onRefreshLogs}
          busy={props.refreshingLogs}
        />
        <AsyncContent state={props.logs} loadingLabel="Reading the logs…">
          {(logs) => (
            <>
              {logs.truncated && <p className="muted small">Only the newest lines that fit are shown.</p>}
              <LogLines logs={logs} grep={props.logQuery.grep} />
            </>
          )}
        </AsyncContent>
        {props.liveLogs}
      </section>
    </>
  );
}

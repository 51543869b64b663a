import { useState, type FormEvent } from "react";
import { useEnvironmentLogSearch } from "../../api/hooks/deployments.js";
import type { LogSearchQuery } from "../../api/log-search.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";

/** A `datetime-local` value (local time, minutes) for a moment. */
const localInput = (ms: number): string => {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
};
const HOUR_MS = 3_600_000;

/**
 * The environment's log search: the lines its services wrote in a time range, optionally only some services and
 * only lines containing a text (case-insensitive), merged by time. Each Search is one read from the agent.
 */
export function LogsPanel(props: { envId: string; now?: () => number }) {
  const now = props.now ?? Date.now;
  const [from, setFrom] = useState(() => localInput(now() - HOUR_MS));
  const [to, setTo] = useState("");
  const [text, setText] = useState("");
  const [services, setServices] = useState("");
  const [query, setQuery] = useState<LogSearchQuery | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const search = useEnvironmentLogSearch(props.envId, query);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const since = Date.parse(from);
    const until = to ? Date.parse(to) : null;
    if (!Number.isFinite(since)) return setFormError("Enter the time to search from.");
    if (until !== null && !(until > since)) return setFormError("“To” must be after “From”.");
    setFormError(null);
    const names = services
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    setQuery({
      since: new Date(since).toISOString(),
      ...(until !== null ? { until: new Date(until).toISOString() } : {}),
      ...(text.trim() ? { q: text.trim() } : {}),
      ...(names.length ? { services: names } : {}),
    });
  };

  return (
    <>
      <div className="section-head">
        <h2>Logs</h2>
      </div>
      <form className="inline-form" aria-label="Search logs" onSubmit={submit}>
        <label>
          From <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} required />
        </label>
        <label>
          To <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <label>
          Text <input type="search" value={text} maxLength={200} onChange={(e) => setText(e.target.value)} />
        </label>
        <label>
          Services{" "}
          <input
            value={services}
            placeholder="all"
            title="Service names, separated by commas; empty searches every service"
            onChange={(e) => setServices(e.target.value)}
          />
        </label>
        <button type="submit" disabled={search.isValidating}>
          {search.isValidating ? "Searching…" : "Search"}
        </button>
      </form>
      {formError ? <p className="error">{formError}</p> : null}
      {search.error ? <ErrorNotice error={search.error} onRetry={() => void search.mutate()} /> : null}
      {search.data && !search.isValidating ? (
        <>
          <p className="muted" aria-live="polite">
            {search.data.lines.length} line{search.data.lines.length === 1 ? "" : "s"} from{" "}
            {search.data.services.join(", ")}
            {search.data.truncated ? " · more lines matched: only the newest are shown, narrow the range" : ""}
          </p>
          {search.data.lines.length > 0 ? (
            <table className="table mono" aria-label="Log lines">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Service</th>
                  <th>Task</th>
                  <th>Line</th>
                </tr>
              </thead>
              <tbody>
                {search.data.lines.map((l, i) => (
                  <tr key={i} data-service={l.service} data-stream={l.stream}>
                    <td>{l.ts ?? ""}</td>
                    <td>{l.service}</td>
                    <td title={l.node ? `node ${l.node}` : undefined}>{l.task?.slice(0, 12) ?? ""}</td>
                    <td className="log-line">{l.line}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </>
      ) : null}
    </>
  );
}

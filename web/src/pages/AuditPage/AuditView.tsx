import { useState, type FormEvent } from "react";
import type { AuditFilters } from "../../api/keys.js";
import type { AuditEvent, User } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { PageHeader } from "../../components/PageHeader.js";
import { formatDateTime } from "../../components/RelativeTime.js";

/** Known action names and families, offered as suggestions; any text is accepted. */
const ACTION_SUGGESTIONS = [
  "auth.*",
  "auth.login",
  "auth.login_failed",
  "auth.mfa_failed",
  "auth.mfa_reset",
  "auth.logout",
  "token.*",
  "user.create",
  "cluster.*",
  "stack.create",
  "environment.create",
  "release.create",
  "overlay.update",
  "secret.*",
  "deployment.*",
  "service.scale",
  "org.create",
];

/** `<input type="datetime-local">` speaks local wall time; the API and the URL speak ISO instants. */
export function isoToLocalInput(iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** UUIDs are cut to their first block (the full id is on hover); other ids such as "bootstrap" stay whole. */
const shortId = (id: string): string => (UUID.test(id) ? id.slice(0, 8) : id);

export function AuditView(props: {
  filters: AuditFilters;
  onFilter: (filters: AuditFilters) => void;
  state: AsyncState<AuditEvent[]>;
  users: User[];
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
}) {
  const userById = new Map(props.users.map((u) => [u.id, u]));
  const actorText = (e: AuditEvent): string => {
    if (!e.actorId) return e.actorType;
    const user = userById.get(e.actorId);
    return user ? user.email : `${e.actorType} ${shortId(e.actorId)}`;
  };
  return (
    <>
      <PageHeader title="Audit log" subtitle="Every change in this organization, newest first." />
      <FilterForm
        key={JSON.stringify(props.filters)}
        filters={props.filters}
        users={props.users}
        onFilter={props.onFilter}
      />
      <AsyncContent
        state={props.state}
        loadingLabel="Loading audit events…"
        isEmpty={(items) => items.length === 0}
        empty={<p>No audit events match these filters.</p>}
      >
        {(items) => (
          <>
            <table className="table audit">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Actor</th>
                  <th>Action</th>
                  <th>Target</th>
                  <th>From</th>
                  <th>Details</th>
                </tr>
              </thead>
              <tbody>
                {items.map((e) => (
                  <tr key={e.id} data-action={e.action}>
                    <td className="nowrap">{formatDateTime(e.ts)}</td>
                    <td title={e.actorId ?? undefined}>{actorText(e)}</td>
                    <td>
                      <code>{e.action}</code>
                    </td>
                    <td title={e.targetId ?? undefined}>
                      {e.targetType ? `${e.targetType} ${e.targetId ? shortId(e.targetId) : ""}` : "—"}
                    </td>
                    <td className="small" title={e.userAgent ?? undefined}>
                      {e.ip ?? "—"}
                    </td>
                    <td className="small details">
                      {Object.entries(e.data).map(([k, v]) => (
                        <div key={k}>
                          <span className="muted">{k}:</span> {typeof v === "string" ? v : JSON.stringify(v)}
                        </div>
                      ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <div className="actions center">
              {props.hasMore ? (
                <button type="button" className="secondary" disabled={props.loadingMore} onClick={props.onLoadMore}>
                  {props.loadingMore ? "Loading…" : "Load more"}
                </button>
              ) : (
                <span className="muted small">End of the log for these filters.</span>
              )}
            </div>
          </>
        )}
      </AsyncContent>
    </>
  );
}

function FilterForm(props: { filters: AuditFilters; users: User[]; onFilter: (filters: AuditFilters) => void }) {
  const [from, setFrom] = useState(isoToLocalInput(props.filters.from));
  const [to, setTo] = useState(isoToLocalInput(props.filters.to));
  const [actor, setActor] = useState(props.filters.actor ?? "");
  const [action, setAction] = useState(props.filters.action ?? "");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next: AuditFilters = {};
    const f = localInputToIso(from);
    const t = localInputToIso(to);
    if (f) next.from = f;
    if (t) next.to = t;
    if (actor.trim()) next.actor = actor.trim();
    if (action.trim()) next.action = action.trim();
    props.onFilter(next);
  };
  return (
    <form className="filters card" onSubmit={submit} aria-label="Audit filters">
      <label>
        From
        <input type="datetime-local" name="from" value={from} onChange={(e) => setFrom(e.target.value)} />
      </label>
      <label>
        To
        <input type="datetime-local" name="to" value={to} onChange={(e) => setTo(e.target.value)} />
      </label>
      <label>
        Actor
        {props.users.length ? (
          <select name="actor" value={actor} onChange={(e) => setActor(e.target.value)}>
            <option value="">Anyone</option>
            {props.users.map((u) => (
              <option key={u.id} value={u.id}>
                {u.email}
              </option>
            ))}
          </select>
        ) : (
          <input name="actor" placeholder="user or token id" value={actor} onChange={(e) => setActor(e.target.value)} />
        )}
      </label>
      <label>
        Action
        <input
          name="action"
          list="audit-actions"
          placeholder="e.g. token.* or cluster.create"
          value={action}
          onChange={(e) => setAction(e.target.value)}
        />
        <datalist id="audit-actions">
          {ACTION_SUGGESTIONS.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
      </label>
      <div className="filter-buttons">
        <button type="submit">Apply</button>
        <button type="button" className="secondary" onClick={() => props.onFilter({})}>
          Clear
        </button>
      </div>
    </form>
  );
}

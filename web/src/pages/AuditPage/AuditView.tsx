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

/** The target types audit entries carry, for the target filter. */
const TARGET_TYPES = [
  "cluster",
  "stack",
  "environment",
  "release",
  "deployment",
  "user",
  "api_token",
  "git_credential",
  "registry_credential",
  "integration_credential",
  "org",
  "session",
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
    if (e.actorName) return e.actorName;
    const user = userById.get(e.actorId);
    return user ? user.email : `${e.actorType} ${shortId(e.actorId)}`;
  };
  /** The name the API found, else the type and the id's first block (the whole id is in the title). */
  const targetText = (e: AuditEvent): string =>
    `${e.targetType ?? ""} ${e.targetName ?? (e.targetId ? shortId(e.targetId) : "")}`.trim();
  const targetFilter = props.filters.targetId
    ? (props.state.data?.find((e) => e.targetId === props.filters.targetId) ?? null)
    : null;
  return (
    <>
      <PageHeader title="Audit log" subtitle="Every change in this organization, newest first." />
      <FilterForm
        key={JSON.stringify(props.filters)}
        filters={props.filters}
        users={props.users}
        onFilter={props.onFilter}
      />
      {props.filters.targetId && (
        <p className="filter-chip">
          Only entries about{" "}
          <strong title={props.filters.targetId}>
            {targetFilter
              ? targetText(targetFilter)
              : `${props.filters.targetType ?? "target"} ${shortId(props.filters.targetId)}`}
          </strong>{" "}
          <button
            type="button"
            className="secondary small"
            onClick={() => {
              const { targetId: _id, ...rest } = props.filters;
              props.onFilter(rest);
            }}
          >
            Show every target
          </button>
        </p>
      )}
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
                    <td title={e.actorId ?? undefined}>
                      {e.actorId ? (
                        <button
                          type="button"
                          className="link"
                          title={`Only entries by ${actorText(e)}`}
                          onClick={() => props.onFilter({ ...props.filters, actor: e.actorId! })}
                        >
                          {actorText(e)}
                        </button>
                      ) : (
                        actorText(e)
                      )}
                    </td>
                    <td>
                      <code>{e.action}</code>
                    </td>
                    <td title={e.targetId ?? undefined}>
                      {e.targetType && e.targetId ? (
                        <button
                          type="button"
                          className="link"
                          title={`Only entries about ${targetText(e)}`}
                          onClick={() =>
                            props.onFilter({ ...props.filters, targetType: e.targetType!, targetId: e.targetId! })
                          }
                        >
                          {targetText(e)}
                        </button>
                      ) : (
                        targetText(e) || "—"
                      )}
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
  const [targetType, setTargetType] = useState(props.filters.targetType ?? "");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next: AuditFilters = {};
    const f = localInputToIso(from);
    const t = localInputToIso(to);
    if (f) next.from = f;
    if (t) next.to = t;
    if (actor.trim()) next.actor = actor.trim();
    if (action.trim()) next.action = action.trim();
    if (targetType) next.targetType = targetType;
    // A target picked from a row stays while its type is still the one filtered on.
    if (props.filters.targetId && targetType === props.filters.targetType) next.targetId = props.filters.targetId;
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
      <label>
        Target
        <select name="targetType" value={targetType} onChange={(e) => setTargetType(e.target.value)}>
          <option value="">Anything</option>
          {TARGET_TYPES.map((t) => (
            <option key={t} value={t}>
              {t.replaceAll("_", " ")}
            </option>
          ))}
        </select>
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

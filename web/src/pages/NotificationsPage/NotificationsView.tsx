import type { NotificationDelivery, NotificationEndpoint } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { ListPage } from "../../components/ListPage.js";
import { RelativeTime } from "../../components/RelativeTime.js";
import { StatusBadge } from "../../components/StatusBadge.js";

/** The host and the start of the path: enough to recognise an endpoint without showing a Slack URL's secret part. */
export function shortUrl(url: string): string {
  try {
    const u = new URL(url);
    const first = u.pathname.split("/").filter(Boolean)[0];
    return `${u.protocol}//${u.host}${first ? `/${first}/…` : "/"}`;
  } catch {
    return url;
  }
}

export function NotificationsView(props: {
  state: AsyncState<NotificationEndpoint[]>;
  canWrite: boolean;
  onCreate: () => void;
  onToggle: (endpoint: NotificationEndpoint) => void;
  onTest: (endpoint: NotificationEndpoint) => void;
  onDelete: (endpoint: NotificationEndpoint) => void;
  /** The endpoint whose delivery log is open, and its log. */
  selected: { endpoint: NotificationEndpoint; deliveries: AsyncState<NotificationDelivery[]> } | null;
  onSelect: (endpoint: NotificationEndpoint | null) => void;
}) {
  return (
    <>
      <ListPage
        title="Notifications"
        subtitle="Webhooks that receive this org’s deployment, cluster and release events: signed JSON, or Slack-compatible messages. Failed deliveries are retried with backoff."
        action={{
          label: "Add endpoint",
          permission: "notifications:write",
          allowed: props.canWrite,
          onClick: props.onCreate,
        }}
        state={props.state}
        loadingLabel="Loading notification endpoints…"
        empty={<p>No notification endpoints yet.</p>}
      >
        {(items) => (
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>URL</th>
                <th>Format</th>
                <th>Events</th>
                <th>State</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id} data-endpoint={e.name}>
                  <td>{e.name}</td>
                  <td className="mono small" title="The full URL is kept: a Slack URL is itself a credential">
                    {shortUrl(e.url)}
                  </td>
                  <td>{e.format === "slack" ? "Slack text" : "JSON"}</td>
                  <td>
                    {e.eventTypes.map((t) => (
                      <span key={t} className="chip">
                        {t}
                      </span>
                    ))}
                  </td>
                  <td>
                    <StatusBadge status={e.enabled ? "enabled" : "disabled"} />
                  </td>
                  <td className="row-actions">
                    <button type="button" className="secondary small" onClick={() => props.onSelect(e)}>
                      Deliveries
                    </button>
                    {props.canWrite && (
                      <>
                        <button type="button" className="secondary small" onClick={() => props.onTest(e)}>
                          Send test
                        </button>
                        <button type="button" className="secondary small" onClick={() => props.onToggle(e)}>
                          {e.enabled ? "Disable" : "Enable"}
                        </button>
                        <button type="button" className="danger small" onClick={() => props.onDelete(e)}>
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </ListPage>
      {props.selected && (
        <DeliveriesPanel
          endpoint={props.selected.endpoint}
          state={props.selected.deliveries}
          onClose={() => props.onSelect(null)}
        />
      )}
    </>
  );
}

/** Why a delivery is where it is, in words: delivered, retrying (when), or given up (after how many). */
export function deliveryState(d: NotificationDelivery): string {
  if (d.status === "delivered") return "delivered";
  if (d.status === "failed") return d.attempts > 0 ? `failed after ${d.attempts} attempt(s)` : "failed";
  return d.attempts === 0 ? "pending" : "retrying";
}

function DeliveriesPanel(props: {
  endpoint: NotificationEndpoint;
  state: AsyncState<NotificationDelivery[]>;
  onClose: () => void;
}) {
  return (
    <section className="card" aria-label={`Deliveries to ${props.endpoint.name}`}>
      <div className="section-head">
        <h2>Deliveries to {props.endpoint.name}</h2>
        <button type="button" className="secondary small" onClick={props.onClose}>
          Close
        </button>
      </div>
      <AsyncContent
        state={props.state}
        loadingLabel="Loading deliveries…"
        isEmpty={(items) => items.length === 0}
        empty={<p>Nothing delivered yet. “Send test” queues a test event.</p>}
      >
        {(items) => (
          <table className="table compact">
            <thead>
              <tr>
                <th>Event</th>
                <th>State</th>
                <th>Attempts (answers)</th>
                <th>Last error</th>
                <th>Queued</th>
                <th>Next attempt</th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr key={d.id} data-delivery={d.eventType}>
                  <td className="mono small">{d.eventType}</td>
                  <td>
                    <StatusBadge status={deliveryState(d)} />
                  </td>
                  <td className="small">
                    {d.log.length === 0
                      ? "none yet"
                      : d.log.map((a) => (a.statusCode === null ? "no answer" : String(a.statusCode))).join(", ")}
                  </td>
                  <td className="small">{d.lastError ?? "—"}</td>
                  <td>
                    <RelativeTime iso={d.createdAt} />
                  </td>
                  <td>{d.status === "pending" ? <RelativeTime iso={d.nextAttemptAt} /> : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </AsyncContent>
    </section>
  );
}

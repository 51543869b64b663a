import type { ClusterActivity } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { formatDateTime, RelativeTime } from "../../components/RelativeTime.js";

/** The cluster's Docker events (services, tasks, nodes) as the agent reported them, newest first. */
export function ActivityFeed(props: {
  state: AsyncState<ClusterActivity[]>;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
}) {
  return (
    <section className="card" aria-label="Activity">
      <h2>Activity</h2>
      <AsyncContent
        state={props.state}
        loadingLabel="Loading activity…"
        isEmpty={(items) => items.length === 0}
        empty={
          <p className="muted">No Docker events reported yet: they appear here as services, tasks and nodes change.</p>
        }
      >
        {(items) => (
          <>
            <table className="table">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Kind</th>
                  <th>Event</th>
                  <th>Object</th>
                </tr>
              </thead>
              <tbody>
                {items.map((a) => (
                  <tr key={a.id} data-testid="activity-row">
                    <td className="nowrap" title={formatDateTime(a.ts)}>
                      <RelativeTime iso={a.ts} />
                    </td>
                    <td>
                      <span className="chip">{a.type}</span>
                    </td>
                    <td>{a.action}</td>
                    <td>
                      {a.name ?? <span className="muted">unnamed</span>}
                      <div className="muted small mono">{a.objectId}</div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {props.hasMore && (
              <div className="actions center">
                <button type="button" className="secondary" disabled={props.loadingMore} onClick={props.onLoadMore}>
                  {props.loadingMore ? "Loading…" : "Load older activity"}
                </button>
              </div>
            )}
          </>
        )}
      </AsyncContent>
    </section>
  );
}

import { Link } from "react-router-dom";
import type { ClusterServices } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { RelativeTime } from "../../components/RelativeTime.js";

/** Every Swarm service on the cluster as the last inventory saw it, by stack; Stackyard's link to their environment. */
export function ClusterServicesPanel(props: {
  state: AsyncState<ClusterServices>;
  environmentHref: (envId: string) => string;
}) {
  return (
    <section className="card" aria-label="Services on this cluster">
      <div className="section-head">
        <h2>Services</h2>
        {props.state.data && (
          <span className="muted small">
            from the agent’s inventory <RelativeTime iso={props.state.data.inventoryAt} never="not reported yet" />
          </span>
        )}
      </div>
      <AsyncContent
        state={props.state}
        loadingLabel="Loading services…"
        isEmpty={(d) => d.items.length === 0}
        empty={<p className="muted">The agent has not reported any Swarm service.</p>}
      >
        {(d) => (
          <table className="table">
            <thead>
              <tr>
                <th>Stack</th>
                <th>Service</th>
                <th>Image</th>
                <th>Replicas</th>
              </tr>
            </thead>
            <tbody>
              {d.items.map((s) => (
                <tr key={s.name} data-service={s.name}>
                  <td>
                    {s.environmentId ? (
                      <Link to={props.environmentHref(s.environmentId)}>{s.stack ?? "—"}</Link>
                    ) : (
                      <span title="Not deployed by Stackyard">{s.stack ?? "—"}</span>
                    )}
                  </td>
                  <td className="mono small">{s.name}</td>
                  <td className="mono small">{s.image.split("@")[0]}</td>
                  <td className={s.runningReplicas < s.desiredReplicas ? "replicas short" : "replicas"}>
                    {s.runningReplicas}/{s.desiredReplicas}
                    {s.mode === "global" && <span className="muted small"> global</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </AsyncContent>
    </section>
  );
}

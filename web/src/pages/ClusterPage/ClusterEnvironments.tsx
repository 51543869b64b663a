import { Link } from "react-router-dom";
import type { StackOverview } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { RelativeTime } from "../../components/RelativeTime.js";
import { StatusBadge } from "../../components/StatusBadge.js";
import { healthText } from "../StacksPage/StacksView.js";

/** The stacks deployed to this cluster: each environment on it, with its health, release and last deploy. */
export function ClusterEnvironments(props: {
  clusterId: string;
  state: AsyncState<StackOverview[]>;
  stackHref: (stackId: string) => string;
  environmentHref: (envId: string) => string;
}) {
  return (
    <section className="card" aria-label="Stacks on this cluster">
      <h2>Stacks</h2>
      <AsyncContent
        state={{
          ...props.state,
          data: props.state.data?.flatMap((s) =>
            s.environments.filter((e) => e.cluster.id === props.clusterId).map((e) => ({ stack: s, env: e })),
          ),
        }}
        loadingLabel="Loading stacks…"
        isEmpty={(rows) => rows.length === 0}
        empty={<p className="muted">No environment deploys to this cluster yet.</p>}
      >
        {(rows) => (
          <table className="table">
            <thead>
              <tr>
                <th>Stack / environment</th>
                <th>Health</th>
                <th>Runs</th>
                <th>Last deploy</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ stack, env }) => {
                const h = healthText(env);
                return (
                  <tr key={env.id} data-environment={`${stack.name}/${env.name}`}>
                    <td>
                      <Link to={props.stackHref(stack.id)}>{stack.name}</Link> /{" "}
                      <Link to={props.environmentHref(env.id)}>{env.name}</Link>
                    </td>
                    <td>
                      <StatusBadge status={h.label} title={h.title} />
                    </td>
                    <td>{env.currentRelease ? `v${env.currentRelease.version}` : <span className="muted">—</span>}</td>
                    <td>
                      {env.lastDeployment ? (
                        <>
                          v{env.lastDeployment.releaseVersion} {env.lastDeployment.status.toLowerCase()}{" "}
                          <RelativeTime iso={env.lastDeployment.finishedAt ?? env.lastDeployment.createdAt} />
                        </>
                      ) : (
                        <span className="muted">never</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </AsyncContent>
    </section>
  );
}

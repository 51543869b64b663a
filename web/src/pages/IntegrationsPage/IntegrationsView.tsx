import type { IntegrationCredential } from "../../api/types.js";
import type { AsyncState } from "../../components/AsyncContent.js";
import { ListPage } from "../../components/ListPage.js";
import { RelativeTime } from "../../components/RelativeTime.js";
import { StatusBadge } from "../../components/StatusBadge.js";

export function IntegrationsView(props: {
  state: AsyncState<IntegrationCredential[]>;
  canWrite: boolean;
  onCreate: () => void;
  onRevoke: (credential: IntegrationCredential) => void;
}) {
  return (
    <ListPage
      title="Integrations"
      subtitle="NATS credentials that receive this org’s events (deployments, releases, clusters, audit) and can do nothing else. See docs/integrations.md."
      action={{
        label: "Create credential",
        permission: "integrations:write",
        allowed: props.canWrite,
        onClick: props.onCreate,
      }}
      state={props.state}
      loadingLabel="Loading integration credentials…"
      empty={<p>No integration credentials yet.</p>}
    >
      {(items) => (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Subjects</th>
              <th>Public key</th>
              <th>Status</th>
              <th>Created</th>
              <th>Expires</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((c) => (
              <tr key={c.id} data-integration={c.name}>
                <td>{c.name}</td>
                <td className="mono small">{c.subjects}</td>
                <td className="mono small" title={c.publicKey}>
                  {c.publicKey.slice(0, 12)}…
                </td>
                <td>
                  <StatusBadge status={c.status} />
                </td>
                <td>
                  <RelativeTime iso={c.createdAt} />
                </td>
                <td>
                  <RelativeTime iso={c.expiresAt} never="never" />
                </td>
                <td className="row-actions">
                  {c.status === "active" && props.canWrite && (
                    <button type="button" className="danger small" onClick={() => props.onRevoke(c)}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </ListPage>
  );
}

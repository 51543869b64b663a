import type { IntegrationCredential } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { PageHeader, PermittedButton } from "../../components/PageHeader.js";
import { RelativeTime } from "../../components/RelativeTime.js";
import { StatusBadge } from "../../components/StatusBadge.js";

export function IntegrationsView(props: {
  state: AsyncState<IntegrationCredential[]>;
  canWrite: boolean;
  onCreate: () => void;
  onRevoke: (credential: IntegrationCredential) => void;
}) {
  return (
    <>
      <PageHeader
        title="Integrations"
        subtitle="NATS credentials that receive this org’s events (deployments, releases, clusters, audit) and can do nothing else. See docs/integrations.md."
        actions={
          <PermittedButton allowed={props.canWrite} permission="integrations:write" onClick={props.onCreate}>
            Create credential
          </PermittedButton>
        }
      />
      <AsyncContent
        state={props.state}
        loadingLabel="Loading integration credentials…"
        isEmpty={(items) => items.length === 0}
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
      </AsyncContent>
    </>
  );
}

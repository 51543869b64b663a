import type { ApiToken } from "../../api/types.js";
import type { AsyncState } from "../../components/AsyncContent.js";
import { ListPage } from "../../components/ListPage.js";
import { RelativeTime } from "../../components/RelativeTime.js";
import { StatusBadge } from "../../components/StatusBadge.js";

export function tokenStatus(t: ApiToken, now = Date.now()): "revoked" | "expired" | "active" {
  if (t.revokedAt) return "revoked";
  if (t.expiresAt && Date.parse(t.expiresAt) <= now) return "expired";
  return "active";
}

export function TokensView(props: {
  state: AsyncState<ApiToken[]>;
  canWrite: boolean;
  onCreate: () => void;
  onRevoke: (token: ApiToken) => void;
}) {
  return (
    <ListPage
      title="API tokens"
      subtitle="For CI and scripts. A token acts with its creator’s role, narrowed to its scopes."
      action={{ label: "Create token", permission: "tokens:write", allowed: props.canWrite, onClick: props.onCreate }}
      state={props.state}
      loadingLabel="Loading tokens…"
      empty={<p>No API tokens yet.</p>}
    >
      {(items) => (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Token</th>
              <th>Scopes</th>
              <th>Status</th>
              <th>Created</th>
              <th>Expires</th>
              <th>Last used</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((t) => {
              const status = tokenStatus(t);
              return (
                <tr key={t.id} data-token={t.name}>
                  <td>{t.name}</td>
                  <td className="mono small">stk_{t.prefix}_…</td>
                  <td>
                    {t.scopes.map((s) => (
                      <span key={s} className="chip">
                        {s}
                      </span>
                    ))}
                  </td>
                  <td>
                    <StatusBadge status={status} />
                  </td>
                  <td>
                    <RelativeTime iso={t.createdAt} />
                  </td>
                  <td>
                    <RelativeTime iso={t.expiresAt} never="never" />
                  </td>
                  <td>
                    <RelativeTime iso={t.lastUsedAt} />
                  </td>
                  <td className="row-actions">
                    {status === "active" && props.canWrite && (
                      <button type="button" className="danger small" onClick={() => props.onRevoke(t)}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </ListPage>
  );
}

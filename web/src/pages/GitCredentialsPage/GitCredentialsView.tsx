import type { GitCredential } from "../../api/types.js";
import type { AsyncState } from "../../components/AsyncContent.js";
import { CopyButton } from "../../components/CopyButton.js";
import { ListPage } from "../../components/ListPage.js";
import { RelativeTime } from "../../components/RelativeTime.js";

/** The org's git credentials: deploy keys with their public key to copy, tokens by user name, trusted host keys. */
export function GitCredentialsView(props: {
  state: AsyncState<GitCredential[]>;
  canWrite: boolean;
  onCreate: () => void;
  onTrustHost: (credential: GitCredential) => void;
  onDelete: (credential: GitCredential) => void;
}) {
  return (
    <ListPage
      title="Git credentials"
      subtitle="For private repositories: an SSH deploy key made here (add its public key to the repository, read-only) or an HTTPS token. Choose one when creating a release from git."
      action={{
        label: "New credential",
        permission: "secrets:write",
        allowed: props.canWrite,
        onClick: props.onCreate,
      }}
      state={props.state}
      loadingLabel="Loading git credentials…"
      empty={<p>No git credentials yet. Public repositories need none.</p>}
    >
      {(items) => (
        <ul className="cards">
          {items.map((c) => (
            <li key={c.id} className="card" data-credential={c.name}>
              <div className="card-head">
                <strong>{c.name}</strong>{" "}
                <span className="chip">{c.type === "ssh" ? "SSH deploy key" : "HTTPS token"}</span>{" "}
                <span className="muted small">
                  created <RelativeTime iso={c.createdAt} />
                </span>
                {props.canWrite && (
                  <span className="row-actions">
                    {c.type === "ssh" && (
                      <button type="button" className="secondary small" onClick={() => props.onTrustHost(c)}>
                        Trust a host
                      </button>
                    )}
                    <button type="button" className="danger small" onClick={() => props.onDelete(c)}>
                      Delete
                    </button>
                  </span>
                )}
              </div>
              {c.type === "ssh" && c.publicKey ? (
                <>
                  <div className="secret-head">
                    <span className="small">Public key — add it as a read-only deploy key on the repository</span>
                    <CopyButton text={c.publicKey} label="Copy public key" />
                  </div>
                  <pre className="secret-value" data-testid={`public-key-${c.name}`}>
                    {c.publicKey}
                  </pre>
                  <p className="muted small">
                    Key fingerprint <code>{c.keyFingerprint}</code>
                  </p>
                  <HostKeys credential={c} />
                </>
              ) : (
                <p className="muted small">
                  User name <code>{c.username}</code>; the token is stored encrypted and never shown again.
                </p>
              )}
            </li>
          ))}
        </ul>
      )}
    </ListPage>
  );
}

function HostKeys(props: { credential: GitCredential }) {
  if (props.credential.hostKeys.length === 0) {
    return (
      <p className="muted small">
        No trusted host yet: the host&rsquo;s key is fetched and stored at first use. Compare it with your forge&rsquo;s
        published fingerprints, or trust the host first.
      </p>
    );
  }
  return (
    <table className="table compact">
      <thead>
        <tr>
          <th>Trusted host</th>
          <th>Key type</th>
          <th>Host key fingerprint</th>
        </tr>
      </thead>
      <tbody>
        {props.credential.hostKeys.map((k) => (
          <tr key={`${k.host} ${k.fingerprint}`}>
            <td className="mono small">{k.host}</td>
            <td className="small">{k.keyType}</td>
            <td className="mono small">{k.fingerprint}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

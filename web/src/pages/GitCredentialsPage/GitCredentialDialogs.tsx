import { useState, type FormEvent } from "react";
import type { AddHostKeysInput, CreateGitCredentialInput } from "../../api/hooks/gitCredentials.js";
import type { GitCredential } from "../../api/types.js";
import { CopyButton } from "../../components/CopyButton.js";
import { Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";

/** Creates a deploy key (then shows its public key to add to the forge) or stores an HTTPS token (write-only). */
export function CreateGitCredentialDialog(props: {
  busy: boolean;
  error: unknown;
  created: GitCredential | undefined;
  onSubmit: (input: CreateGitCredentialInput) => void;
  onClose: () => void;
}) {
  const [name, setName] = useState("");
  const [type, setType] = useState<"ssh" | "https">("ssh");
  const [username, setUsername] = useState("");
  const [token, setToken] = useState("");
  const created = props.created;
  if (created) {
    return (
      <Dialog title={`Credential ${created.name} created`} onClose={props.onClose}>
        {created.type === "ssh" && created.publicKey ? (
          <div className="secret">
            <div className="secret-head">
              <strong>Public key</strong>
              <CopyButton text={created.publicKey} label="Copy public key" />
            </div>
            <pre className="secret-value" data-testid="created-public-key">
              {created.publicKey}
            </pre>
            <p className="muted small">
              Add it to the repository as a read-only deploy key (GitHub: Settings → Deploy keys; GitLab: Settings →
              Repository → Deploy keys). The private key stays encrypted in Stackyard and is never shown.
            </p>
          </div>
        ) : (
          <p>The token is stored encrypted. It is never shown again; delete the credential to replace it.</p>
        )}
        <div className="actions">
          <button type="button" onClick={props.onClose}>
            Done
          </button>
        </div>
      </Dialog>
    );
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit(
      type === "ssh"
        ? { name: name.trim(), type }
        : { name: name.trim(), type, token, ...(username.trim() ? { username: username.trim() } : {}) },
    );
  };
  return (
    <Dialog title="New git credential" onClose={props.onClose}>
      <form onSubmit={submit}>
        <label>
          Name
          <input
            name="name"
            required
            maxLength={64}
            pattern="[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}"
            placeholder="github-acme-app"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoFocus
          />
        </label>
        <fieldset>
          <legend>Kind</legend>
          <label className="check">
            <input type="radio" name="type" checked={type === "ssh"} onChange={() => setType("ssh")} />
            <span>SSH deploy key — generated here; for ssh:// and git@host:path URLs</span>
          </label>
          <label className="check">
            <input type="radio" name="type" checked={type === "https"} onChange={() => setType("https")} />
            <span>HTTPS token — a read-only access token for https:// URLs</span>
          </label>
        </fieldset>
        {type === "https" && (
          <>
            <label>
              User name
              <input
                name="username"
                maxLength={100}
                placeholder="x-access-token (GitHub), oauth2 (GitLab)"
                value={username}
                onChange={(e) => setUsername(e.target.value)}
              />
            </label>
            <label>
              Token
              <input
                name="token"
                type="password"
                autoComplete="off"
                required
                maxLength={4096}
                value={token}
                onChange={(e) => setToken(e.target.value)}
              />
            </label>
          </>
        )}
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" disabled={props.busy || !name.trim() || (type === "https" && !token)}>
            {props.busy ? "Creating…" : "Create credential"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Trusts a host's SSH keys: pasted, or fetched now and shown so the user can compare them with the forge's. */
export function TrustHostDialog(props: {
  credential: GitCredential;
  busy: boolean;
  error: unknown;
  trusted: GitCredential | undefined;
  onSubmit: (input: AddHostKeysInput) => void;
  onClose: () => void;
}) {
  const [host, setHost] = useState("");
  const [port, setPort] = useState("22");
  const [publicKeys, setPublicKeys] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit({
      credentialId: props.credential.id,
      host: host.trim(),
      port: Number(port),
      ...(publicKeys.trim() ? { publicKeys: publicKeys.trim() } : {}),
    });
  };
  const hostName = Number(port) === 22 ? host.trim().toLowerCase() : `[${host.trim().toLowerCase()}]:${port}`;
  const trusted = props.trusted?.hostKeys.filter((k) => k.host === hostName);
  if (trusted && trusted.length > 0) {
    return (
      <Dialog title={`Trusted ${hostName}`} onClose={props.onClose}>
        <p>Git over SSH with {props.credential.name} now accepts only these host keys:</p>
        <ul>
          {trusted.map((k) => (
            <li key={k.fingerprint} className="mono small">
              {k.keyType} {k.fingerprint}
            </li>
          ))}
        </ul>
        <p className="muted small">Compare them with the fingerprints your git host publishes.</p>
        <div className="actions">
          <button type="button" onClick={props.onClose}>
            Done
          </button>
        </div>
      </Dialog>
    );
  }
  return (
    <Dialog title={`Trust a host for ${props.credential.name}`} onClose={props.onClose}>
      <form onSubmit={submit}>
        <label>
          Host
          <input
            name="host"
            required
            maxLength={253}
            placeholder="github.com"
            value={host}
            onChange={(e) => setHost(e.target.value)}
            autoFocus
          />
        </label>
        <label>
          Port
          <input
            name="port"
            type="number"
            min={1}
            max={65535}
            required
            value={port}
            onChange={(e) => setPort(e.target.value)}
          />
        </label>
        <label>
          Host public keys (optional)
          <textarea
            name="publicKeys"
            className="code"
            rows={4}
            spellCheck={false}
            placeholder="ssh-ed25519 AAAA… (as ssh-keyscan prints them). Leave empty to fetch them now."
            value={publicKeys}
            onChange={(e) => setPublicKeys(e.target.value)}
          />
        </label>
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" disabled={props.busy || !host.trim()}>
            {props.busy ? "Trusting…" : publicKeys.trim() ? "Trust these keys" : "Fetch and trust"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

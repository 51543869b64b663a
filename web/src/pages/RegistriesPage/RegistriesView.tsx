import { useState, type FormEvent } from "react";
import type { CreateRegistryCredentialInput } from "../../api/hooks/registries.js";
import type { RegistryCredential } from "../../api/types.js";
import type { AsyncState } from "../../components/AsyncContent.js";
import { Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { Field } from "../../components/Field.js";
import { ListPage } from "../../components/ListPage.js";
import { RelativeTime } from "../../components/RelativeTime.js";

const NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}";
const HOST_PATTERN = "[a-z0-9]([a-z0-9.\\-]{0,251}[a-z0-9])?(:[0-9]{1,5})?";

/** Registry, username and version only: the API never returns a password, and neither does this page. */
export function RegistriesView(props: {
  state: AsyncState<RegistryCredential[]>;
  canWrite: boolean;
  onCreate: () => void;
  onChange: (credential: RegistryCredential) => void;
  onDelete: (credential: RegistryCredential) => void;
}) {
  return (
    <ListPage
      title="Registry credentials"
      subtitle="Logins for private images. Attach one to an environment (on its page) for each registry it pulls from."
      action={{
        label: "Add credential",
        permission: "secrets:write",
        allowed: props.canWrite,
        onClick: props.onCreate,
      }}
      state={props.state}
      loadingLabel="Loading registry credentials…"
      empty={<p>No registry credentials. Images from public registries, or already on the nodes, need none.</p>}
    >
      {(items) => (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Registry</th>
              <th>Username</th>
              <th>Version</th>
              <th>Updated</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((c) => (
              <tr key={c.id} data-credential={c.name}>
                <td className="mono">{c.name}</td>
                <td className="mono">{c.registry}</td>
                <td>{c.username}</td>
                <td>v{c.version}</td>
                <td>
                  <RelativeTime iso={c.updatedAt} />
                </td>
                <td className="row-actions">
                  {props.canWrite && (
                    <>
                      <button type="button" className="secondary small" onClick={() => props.onChange(c)}>
                        Change login
                      </button>{" "}
                      <button type="button" className="danger small" onClick={() => props.onDelete(c)}>
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
  );
}

/** New credential (`existing` null) or a new username/password for one (its name and registry stay). */
export function RegistryCredentialDialog(props: {
  existing: RegistryCredential | null;
  busy: boolean;
  error: unknown;
  onSubmit: (input: CreateRegistryCredentialInput) => void;
  onClose: () => void;
}) {
  const [name, setName] = useState(props.existing?.name ?? "");
  const [registry, setRegistry] = useState(props.existing?.registry ?? "");
  const [username, setUsername] = useState(props.existing?.username ?? "");
  const [password, setPassword] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit({ name: name.trim(), registry: registry.trim().toLowerCase(), username: username.trim(), password });
  };
  return (
    <Dialog
      title={props.existing ? `Change login of ${props.existing.name}` : "Add registry credential"}
      onClose={props.onClose}
    >
      <form onSubmit={submit}>
        <label>
          Name
          <input
            name="name"
            required
            pattern={NAME_PATTERN}
            readOnly={props.existing !== null}
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoFocus={!props.existing}
          />
        </label>
        <Field label="Registry" hint={<>host[:port] as your images name it, e.g. ghcr.io; docker.io for Docker Hub.</>}>
          <input
            name="registry"
            required
            pattern={HOST_PATTERN}
            readOnly={props.existing !== null}
            placeholder="registry.example.com"
            value={registry}
            onChange={(e) => setRegistry(e.target.value)}
          />
        </Field>
        <label>
          Username
          <input name="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
        </label>
        <Field label="Password or token" hint={<>Encrypted at rest and sealed to the agent; it cannot be read back.</>}>
          <input
            name="password"
            type="password"
            required
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoFocus={props.existing !== null}
          />
        </Field>
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" disabled={props.busy}>
            {props.busy ? "Saving…" : props.existing ? "Save login" : "Add credential"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

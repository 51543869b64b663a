import { useState, type FormEvent } from "react";
import type { PutSecretInput } from "../../api/hooks/stacks.js";
import type { Secret } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { RelativeTime } from "../../components/RelativeTime.js";
import { Field } from "../../components/Field.js";

const NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}";

/** Names and versions only: the API never returns a secret's value, and neither does this page. */
export function SecretsPanel(props: {
  state: AsyncState<Secret[]>;
  canWrite: boolean;
  onSet: (existing: Secret | null) => void;
  onDelete: (secret: Secret) => void;
}) {
  return (
    <>
      <div className="section-head">
        <h2>Secrets</h2>
        {props.canWrite && (
          <button type="button" className="secondary" onClick={() => props.onSet(null)}>
            Add secret
          </button>
        )}
      </div>
      <AsyncContent
        state={props.state}
        loadingLabel="Loading secrets…"
        isEmpty={(s) => s.length === 0}
        empty={<p className="muted">No secrets. They are mounted into services as Swarm secrets at deploy time.</p>}
      >
        {(secrets) => (
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Services</th>
                <th>Version</th>
                <th>Updated</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {secrets.map((s) => (
                <tr key={s.name} data-secret={s.name}>
                  <td className="mono">{s.name}</td>
                  <td>
                    {s.services.length
                      ? s.services.map((x) => (
                          <span key={x} className="chip">
                            {x}
                          </span>
                        ))
                      : "all"}
                  </td>
                  <td>v{s.version}</td>
                  <td>
                    <RelativeTime iso={s.updatedAt} />
                  </td>
                  <td className="row-actions">
                    {props.canWrite && (
                      <>
                        <button type="button" className="secondary small" onClick={() => props.onSet(s)}>
                          Rotate
                        </button>{" "}
                        <button type="button" className="danger small" onClick={() => props.onDelete(s)}>
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
      </AsyncContent>
    </>
  );
}

/** Creates a secret, or rotates `existing` (same name, new value, version + 1). */
export function SecretDialog(props: {
  existing: Secret | null;
  busy: boolean;
  error: unknown;
  onSubmit: (input: PutSecretInput) => void;
  onClose: () => void;
}) {
  const [name, setName] = useState(props.existing?.name ?? "");
  const [value, setValue] = useState("");
  const [services, setServices] = useState(props.existing?.services.join(", ") ?? "");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const list = services
      .split(/[,\s]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    props.onSubmit({ name: name.trim(), value, services: [...new Set(list)] });
  };
  return (
    <Dialog title={props.existing ? `Rotate ${props.existing.name}` : "Add secret"} onClose={props.onClose}>
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
        <Field
          label={props.existing ? "New value" : "Value"}
          hint={<>Encrypted at rest; it cannot be read back here.</>}
        >
          <textarea
            name="value"
            className="code masked"
            rows={4}
            required
            spellCheck={false}
            autoComplete="off"
            value={value}
            onChange={(e) => setValue(e.target.value)}
            autoFocus={props.existing !== null}
          />
        </Field>
        <Field
          label="Services"
          hint={<>Comma-separated names of the services that mount it; empty means every service.</>}
        >
          <input
            name="services"
            placeholder="all services"
            value={services}
            onChange={(e) => setServices(e.target.value)}
          />
        </Field>
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" disabled={props.busy}>
            {props.busy ? "Saving…" : props.existing ? "Rotate secret" : "Add secret"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

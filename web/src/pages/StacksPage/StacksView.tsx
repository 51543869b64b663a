import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import type { Stack } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { PageHeader, PermittedButton } from "../../components/PageHeader.js";
import { RelativeTime } from "../../components/RelativeTime.js";
import { Field } from "../../components/Field.js";

export function StacksView(props: {
  state: AsyncState<Stack[]>;
  stackHref: (s: Stack) => string;
  canCreate: boolean;
  onCreate: () => void;
}) {
  return (
    <>
      <PageHeader
        title="Stacks"
        subtitle="Applications: a compose file, released in immutable versions and deployed to environments."
        actions={
          <PermittedButton allowed={props.canCreate} permission="stacks:write" onClick={props.onCreate}>
            New stack
          </PermittedButton>
        }
      />
      <AsyncContent
        state={props.state}
        loadingLabel="Loading stacks…"
        isEmpty={(items) => items.length === 0}
        empty={
          <>
            <p>No stacks yet.</p>
            <p className="muted">Create one, upload its compose file as a release, then add an environment.</p>
          </>
        }
      >
        {(items) => (
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Description</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link to={props.stackHref(s)}>{s.name}</Link>
                  </td>
                  <td className="muted">{s.description}</td>
                  <td>
                    <RelativeTime iso={s.createdAt} />
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

export function CreateStackDialog(props: {
  busy: boolean;
  error: unknown;
  onSubmit: (input: { name: string; description?: string }) => void;
  onClose: () => void;
}) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit({ name: name.trim(), ...(description.trim() ? { description: description.trim() } : {}) });
  };
  return (
    <Dialog title="New stack" onClose={props.onClose}>
      <form onSubmit={submit}>
        <Field label="Name" hint={<>The Swarm stack name: lowercase letters, digits, dashes and underscores.</>}>
          <input
            name="name"
            required
            pattern="[a-z0-9][a-z0-9_\-]{0,62}"
            placeholder="shop"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoFocus
          />
        </Field>
        <label>
          Description
          <input
            name="description"
            maxLength={1000}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
          />
        </label>
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" disabled={props.busy}>
            {props.busy ? "Creating…" : "Create stack"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

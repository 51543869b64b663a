import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { useDeleteStack, useUpdateStack } from "../../api/hooks/stacks.js";
import type { StackDetail } from "../../api/types.js";
import { paths } from "../../app/paths.js";
import { ConfirmDialog, Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { Field } from "../../components/Field.js";
import { PermittedButton } from "../../components/PageHeader.js";

/** The stack page's "Rename…" and "Delete…" buttons with their dialogs. */
export function StackSettings(props: { orgId: string; stack: StackDetail; canWrite: boolean }) {
  const { orgId, stack } = props;
  const navigate = useNavigate();
  const update = useUpdateStack(orgId, stack.id);
  const remove = useDeleteStack(orgId, stack.id);
  const [open, setOpen] = useState<null | "rename" | "delete">(null);
  const close = () => {
    setOpen(null);
    update.reset();
    remove.reset();
  };
  return (
    <>
      <PermittedButton
        allowed={props.canWrite}
        permission="stacks:write"
        className="secondary"
        onClick={() => setOpen("rename")}
      >
        Rename…
      </PermittedButton>
      <PermittedButton
        allowed={props.canWrite}
        permission="stacks:write"
        className="danger"
        onClick={() => setOpen("delete")}
      >
        Delete…
      </PermittedButton>
      {open === "rename" && (
        <RenameStackDialog
          stack={stack}
          busy={update.isMutating}
          error={update.error}
          onSubmit={(input) => void update.trigger(input).then((s) => s && close())}
          onClose={close}
        />
      )}
      {open === "delete" && (
        <ConfirmDialog
          title={`Delete stack ${stack.name}`}
          confirmLabel="Delete stack"
          busy={remove.isMutating}
          error={remove.error ? <ErrorNotice error={remove.error} compact /> : null}
          onConfirm={() => void remove.trigger().then((s) => s && navigate(paths.stacks(orgId)))}
          onCancel={close}
        >
          {stack.environments.length > 0 ? (
            <p>
              The stack still has {stack.environments.length} environment(s):{" "}
              {stack.environments.map((e) => e.name).join(", ")}. Delete them first (that is the step that removes their
              Swarm stacks from the clusters); the server refuses otherwise.
            </p>
          ) : (
            <p>
              Nothing runs on a cluster for this stack. Deleting it removes its releases from Stackyard; the audit log
              keeps a record.
            </p>
          )}
        </ConfirmDialog>
      )}
    </>
  );
}

function RenameStackDialog(props: {
  stack: StackDetail;
  busy: boolean;
  error: unknown;
  onSubmit: (input: { name?: string; description?: string }) => void;
  onClose: () => void;
}) {
  const [name, setName] = useState(props.stack.name);
  const [description, setDescription] = useState(props.stack.description);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit({
      ...(name !== props.stack.name ? { name } : {}),
      ...(description !== props.stack.description ? { description } : {}),
    });
  };
  return (
    <Dialog title={`Rename ${props.stack.name}`} onClose={props.onClose}>
      <form onSubmit={submit}>
        <Field
          label="Name"
          hint="Shown in Stackyard only: the Swarm stacks of its environments keep their names on the clusters."
        >
          <input
            name="name"
            required
            pattern="[a-z0-9][a-z0-9_\-]{0,62}"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoFocus
          />
        </Field>
        <Field label="Description">
          <input
            name="description"
            maxLength={1000}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
          />
        </Field>
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" disabled={props.busy}>
            {props.busy ? "Saving…" : "Save"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

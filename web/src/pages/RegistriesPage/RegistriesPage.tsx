import { useState } from "react";
import {
  useCreateRegistryCredential,
  useDeleteRegistryCredential,
  useRegistryCredentials,
  useUpdateRegistryCredential,
} from "../../api/hooks/registries.js";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import type { RegistryCredential } from "../../api/types.js";
import { useOrgId } from "../../app/useOrgId.js";
import { ConfirmDialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { RegistriesView, RegistryCredentialDialog } from "./RegistriesView.js";

export function RegistriesPage() {
  const orgId = useOrgId();
  const me = useMe();
  const list = useRegistryCredentials(orgId);
  const create = useCreateRegistryCredential(orgId);
  const update = useUpdateRegistryCredential(orgId);
  const remove = useDeleteRegistryCredential(orgId);
  const [editing, setEditing] = useState<{ existing: RegistryCredential | null } | null>(null);
  const [deleting, setDeleting] = useState<RegistryCredential | null>(null);

  const closeEdit = () => {
    setEditing(null);
    create.reset();
    update.reset();
  };
  const closeDelete = () => {
    setDeleting(null);
    remove.reset();
  };
  const existing = editing?.existing ?? null;
  return (
    <>
      <RegistriesView
        state={{
          data: list.data?.items,
          error: list.error,
          isLoading: list.isLoading,
          onRetry: () => void list.mutate(),
        }}
        canWrite={hasPermission(me.data, "secrets:write")}
        onCreate={() => setEditing({ existing: null })}
        onChange={(c) => setEditing({ existing: c })}
        onDelete={setDeleting}
      />
      {editing && (
        <RegistryCredentialDialog
          existing={existing}
          busy={create.isMutating || update.isMutating}
          error={existing ? update.error : create.error}
          onSubmit={(input) =>
            void (
              existing
                ? update.trigger({ id: existing.id, username: input.username, password: input.password })
                : create.trigger(input)
            ).then((r) => r && closeEdit())
          }
          onClose={closeEdit}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete registry credential ${deleting.name}?`}
          confirmLabel="Delete credential"
          busy={remove.isMutating}
          error={remove.error ? <ErrorNotice error={remove.error} compact /> : null}
          onCancel={closeDelete}
          onConfirm={() => void remove.trigger(deleting.id).then((r) => r && closeDelete())}
        >
          Every environment using it stops sending a login for {deleting.registry}; their next deploys fail pre-flight
          if the registry needs one.
        </ConfirmDialog>
      )}
    </>
  );
}

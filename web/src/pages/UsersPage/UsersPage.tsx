import { useState } from "react";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import { useCreateUser, useDeleteUser, useUpdateUserRole, useUsers } from "../../api/hooks/users.js";
import { useResetUserMfa } from "../../api/hooks/mfa.js";
import { MfaPolicyPanel } from "./MfaPolicyPanel.js";
import type { User } from "../../api/types.js";
import { useOrgId } from "../../app/useOrgId.js";
import { ConfirmDialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { CreateUserDialog, UsersView } from "./UsersView.js";

export function UsersPage() {
  const orgId = useOrgId();
  const me = useMe();
  const users = useUsers(orgId);
  const create = useCreateUser(orgId);
  const updateRole = useUpdateUserRole(orgId);
  const remove = useDeleteUser(orgId);
  const [creating, setCreating] = useState(false);
  const [removing, setRemoving] = useState<User | null>(null);
  const resetMfa = useResetUserMfa(orgId);
  const [resetting, setResetting] = useState<User | null>(null);
  const closeReset = () => {
    setResetting(null);
    resetMfa.reset();
  };
  const close = () => {
    setCreating(false);
    create.reset();
  };
  const closeRemove = () => {
    setRemoving(null);
    remove.reset();
  };
  return (
    <>
      <UsersView
        state={{
          data: users.data?.items,
          error: users.error,
          isLoading: users.isLoading,
          onRetry: () => void users.mutate(),
        }}
        currentUserId={me.data?.user.id}
        canWrite={hasPermission(me.data, "users:write")}
        onCreate={() => setCreating(true)}
        onChangeRole={(user, role) => void updateRole.trigger({ userId: user.id, role })}
        onRemove={(user) => setRemoving(user)}
        onResetMfa={(user) => setResetting(user)}
        roleError={updateRole.error}
      />
      <MfaPolicyPanel orgId={orgId} canWrite={hasPermission(me.data, "users:write")} />
      {resetting && (
        <ConfirmDialog
          title={`Reset MFA of ${resetting.email}`}
          confirmLabel="Reset MFA"
          busy={resetMfa.isMutating}
          error={resetMfa.error ? <ErrorNotice error={resetMfa.error} compact /> : null}
          onConfirm={() => void resetMfa.trigger(resetting.id).then((r) => r && closeReset())}
          onCancel={closeReset}
        >
          <p>
            For a lost device: {resetting.email}&apos;s authenticator secret and recovery codes are deleted and all
            their sessions end. They log in with their password again (and set MFA up again first when the organization
            requires it).
          </p>
        </ConfirmDialog>
      )}
      {creating && (
        <CreateUserDialog
          busy={create.isMutating}
          error={create.error}
          onSubmit={(input) => void create.trigger(input).then((u) => u && close())}
          onClose={close}
        />
      )}
      {removing && (
        <ConfirmDialog
          title={`Remove ${removing.email}`}
          confirmLabel="Remove user"
          busy={remove.isMutating}
          error={remove.error ? <ErrorNotice error={remove.error} compact /> : null}
          onConfirm={() => void remove.trigger(removing.id).then((u) => u && closeRemove())}
          onCancel={closeRemove}
        >
          <p>
            {removing.email} ({removing.role}) can no longer log in. Their sessions and API tokens stop working at once;
            the audit log keeps what they did.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

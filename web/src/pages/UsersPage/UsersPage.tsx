import { useState } from "react";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import { useCreateUser, useUsers } from "../../api/hooks/users.js";
import { useOrgId } from "../../app/useOrgId.js";
import { CreateUserDialog, UsersView } from "./UsersView.js";

export function UsersPage() {
  const orgId = useOrgId();
  const me = useMe();
  const users = useUsers(orgId);
  const create = useCreateUser(orgId);
  const [creating, setCreating] = useState(false);
  const close = () => {
    setCreating(false);
    create.reset();
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
      />
      {creating && (
        <CreateUserDialog
          busy={create.isMutating}
          error={create.error}
          onSubmit={(input) => void create.trigger(input).then((u) => u && close())}
          onClose={close}
        />
      )}
    </>
  );
}

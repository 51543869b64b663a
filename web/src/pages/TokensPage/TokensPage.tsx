import { useState } from "react";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import { useCreateToken, useRevokeToken, useTokens } from "../../api/hooks/tokens.js";
import type { ApiToken } from "../../api/types.js";
import { useOrgId } from "../../app/useOrgId.js";
import { ConfirmDialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { CreateTokenDialog } from "./CreateTokenDialog.js";
import { TokensView } from "./TokensView.js";

export function TokensPage() {
  const orgId = useOrgId();
  const me = useMe();
  const tokens = useTokens(orgId);
  const create = useCreateToken(orgId);
  const revoke = useRevokeToken(orgId);
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);

  const closeCreate = () => {
    setCreating(false);
    create.reset();
  };
  const closeRevoke = () => {
    setRevoking(null);
    revoke.reset();
  };
  return (
    <>
      <TokensView
        state={{
          data: tokens.data?.items,
          error: tokens.error,
          isLoading: tokens.isLoading,
          onRetry: () => void tokens.mutate(),
        }}
        canWrite={hasPermission(me.data, "tokens:write")}
        onCreate={() => setCreating(true)}
        onRevoke={setRevoking}
      />
      {creating && (
        <CreateTokenDialog
          grantable={me.data?.permissions ?? []}
          busy={create.isMutating}
          error={create.error}
          created={create.data}
          onSubmit={(input) => void create.trigger(input)}
          onClose={closeCreate}
        />
      )}
      {revoking && (
        <ConfirmDialog
          title={`Revoke token ${revoking.name}?`}
          confirmLabel="Revoke token"
          busy={revoke.isMutating}
          error={revoke.error ? <ErrorNotice error={revoke.error} compact /> : null}
          onCancel={closeRevoke}
          onConfirm={() => void revoke.trigger(revoking.id).then((r) => r && closeRevoke())}
        >
          Anything using it is refused from now on. This cannot be undone.
        </ConfirmDialog>
      )}
    </>
  );
}

import { useState } from "react";
import {
  useCreateIntegrationCredential,
  useIntegrationCredentials,
  useRevokeIntegrationCredential,
} from "../../api/hooks/integrations.js";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import type { IntegrationCredential } from "../../api/types.js";
import { useOrgId } from "../../app/useOrgId.js";
import { ConfirmDialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { CreateIntegrationDialog } from "./CreateIntegrationDialog.js";
import { IntegrationsView } from "./IntegrationsView.js";

export function IntegrationsPage() {
  const orgId = useOrgId();
  const me = useMe();
  const credentials = useIntegrationCredentials(orgId);
  const create = useCreateIntegrationCredential(orgId);
  const revoke = useRevokeIntegrationCredential(orgId);
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<IntegrationCredential | null>(null);

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
      <IntegrationsView
        state={{
          data: credentials.data?.items,
          error: credentials.error,
          isLoading: credentials.isLoading,
          onRetry: () => void credentials.mutate(),
        }}
        canWrite={hasPermission(me.data, "integrations:write")}
        onCreate={() => setCreating(true)}
        onRevoke={setRevoking}
      />
      {creating && (
        <CreateIntegrationDialog
          busy={create.isMutating}
          error={create.error}
          created={create.data}
          onSubmit={(input) => void create.trigger(input)}
          onClose={closeCreate}
        />
      )}
      {revoking && (
        <ConfirmDialog
          title={`Revoke integration ${revoking.name}?`}
          confirmLabel="Revoke credential"
          busy={revoke.isMutating}
          error={revoke.error ? <ErrorNotice error={revoke.error} compact /> : null}
          onCancel={closeRevoke}
          onConfirm={() => void revoke.trigger(revoking.id).then((r) => r && closeRevoke())}
        >
          The NATS server closes its connection at once and refuses it from now on. This cannot be undone.
        </ConfirmDialog>
      )}
    </>
  );
}

import { useState } from "react";
import {
  useAddHostKeys,
  useCreateGitCredential,
  useDeleteGitCredential,
  useGitCredentials,
} from "../../api/hooks/gitCredentials.js";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import type { GitCredential } from "../../api/types.js";
import { useOrgId } from "../../app/useOrgId.js";
import { ConfirmDialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { CreateGitCredentialDialog, TrustHostDialog } from "./GitCredentialDialogs.js";
import { GitCredentialsView } from "./GitCredentialsView.js";

export function GitCredentialsPage() {
  const orgId = useOrgId();
  const me = useMe();
  const credentials = useGitCredentials(orgId);
  const create = useCreateGitCredential(orgId);
  const remove = useDeleteGitCredential(orgId);
  const trust = useAddHostKeys(orgId);
  const [creating, setCreating] = useState(false);
  const [trusting, setTrusting] = useState<GitCredential | null>(null);
  const [deleting, setDeleting] = useState<GitCredential | null>(null);
  const closeCreate = () => {
    setCreating(false);
    create.reset();
  };
  const closeTrust = () => {
    setTrusting(null);
    trust.reset();
  };
  const closeDelete = () => {
    setDeleting(null);
    remove.reset();
  };
  return (
    <>
      <GitCredentialsView
        state={{
          data: credentials.data?.items,
          error: credentials.error,
          isLoading: credentials.isLoading,
          onRetry: () => void credentials.mutate(),
        }}
        canWrite={hasPermission(me.data, "secrets:write")}
        onCreate={() => setCreating(true)}
        onTrustHost={setTrusting}
        onDelete={setDeleting}
      />
      {creating && (
        <CreateGitCredentialDialog
          busy={create.isMutating}
          error={create.error}
          created={create.data}
          onSubmit={(input) => void create.trigger(input)}
          onClose={closeCreate}
        />
      )}
      {trusting && (
        <TrustHostDialog
          credential={trusting}
          busy={trust.isMutating}
          error={trust.error}
          trusted={trust.data}
          onSubmit={(input) => void trust.trigger(input)}
          onClose={closeTrust}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete credential ${deleting.name}?`}
          confirmLabel="Delete credential"
          busy={remove.isMutating}
          error={remove.error ? <ErrorNotice error={remove.error} compact /> : null}
          onCancel={closeDelete}
          onConfirm={() => void remove.trigger(deleting.id).then((r) => r && closeDelete())}
        >
          Releases already made with it stay. New releases from its repositories fail until another credential is
          chosen; remove its public key from the forge too.
        </ConfirmDialog>
      )}
    </>
  );
}

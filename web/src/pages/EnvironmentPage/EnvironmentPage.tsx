import { useState } from "react";
import { useParams } from "react-router-dom";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import {
  useDeleteSecret,
  useEnvironment,
  useOverlay,
  usePutOverlay,
  usePutSecret,
  useReleases,
  useSecrets,
} from "../../api/hooks/stacks.js";
import type { Secret } from "../../api/types.js";
import { paths } from "../../app/paths.js";
import { useOrgId } from "../../app/useOrgId.js";
import { AsyncContent } from "../../components/AsyncContent.js";
import { ConfirmDialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { EnvironmentView } from "./EnvironmentView.js";
import { OverlayEditor } from "./OverlayEditor.js";
import { SecretDialog, SecretsPanel } from "./SecretsPanel.js";

export function EnvironmentPage() {
  const orgId = useOrgId();
  const envId = useParams().envId ?? "";
  const me = useMe();
  const env = useEnvironment(envId);
  const releases = useReleases(env.data?.stackId ?? null);
  const overlay = useOverlay(envId);
  const saveOverlay = usePutOverlay(envId);
  const secrets = useSecrets(envId);
  const putSecret = usePutSecret(envId);
  const deleteSecret = useDeleteSecret(envId);
  const [editing, setEditing] = useState<{ existing: Secret | null } | null>(null);
  const [deleting, setDeleting] = useState<Secret | null>(null);
  const canWriteStacks = hasPermission(me.data, "stacks:write");
  const canWriteSecrets = hasPermission(me.data, "secrets:write");

  const closeSecret = () => {
    setEditing(null);
    putSecret.reset();
  };
  const closeDelete = () => {
    setDeleting(null);
    deleteSecret.reset();
  };
  return (
    <>
      <EnvironmentView
        state={{ data: env.data, error: env.error, isLoading: env.isLoading, onRetry: () => void env.mutate() }}
        releases={releases.data?.items ?? []}
        stackHref={(id) => paths.stack(orgId, id)}
        clusterHref={(id) => paths.cluster(orgId, id)}
        releaseHref={(id) => paths.release(orgId, id)}
        diffHref={(to) => paths.diff(orgId, envId, to)}
        overlay={
          <AsyncContent
            state={{
              data: overlay.data,
              error: overlay.error,
              isLoading: overlay.isLoading,
              onRetry: () => void overlay.mutate(),
            }}
            loadingLabel="Loading overlay…"
          >
            {(o) => (
              <OverlayEditor
                key={o.updatedAt}
                overlay={o}
                canWrite={canWriteStacks}
                busy={saveOverlay.isMutating}
                error={saveOverlay.error}
                saved={saveOverlay.data !== undefined}
                onSave={(input) => void saveOverlay.trigger(input)}
              />
            )}
          </AsyncContent>
        }
        secrets={
          <SecretsPanel
            state={{
              data: secrets.data?.items,
              error: secrets.error,
              isLoading: secrets.isLoading,
              onRetry: () => void secrets.mutate(),
            }}
            canWrite={canWriteSecrets}
            onSet={(existing) => setEditing({ existing })}
            onDelete={setDeleting}
          />
        }
      />
      {editing && (
        <SecretDialog
          existing={editing.existing}
          busy={putSecret.isMutating}
          error={putSecret.error}
          onSubmit={(input) => void putSecret.trigger(input).then((s) => s && closeSecret())}
          onClose={closeSecret}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete secret ${deleting.name}?`}
          confirmLabel="Delete secret"
          busy={deleteSecret.isMutating}
          error={deleteSecret.error ? <ErrorNotice error={deleteSecret.error} compact /> : null}
          onCancel={closeDelete}
          onConfirm={() => void deleteSecret.trigger(deleting.name).then((s) => s && closeDelete())}
        >
          Deployments from now on no longer mount it. Services already running keep it until they are redeployed.
        </ConfirmDialog>
      )}
    </>
  );
}

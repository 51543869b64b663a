import { useState } from "react";
import { useNavigate, useParams } from "react-router-dom";
import { useClusters } from "../../api/hooks/clusters.js";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import { useGitCredentials } from "../../api/hooks/gitCredentials.js";
import {
  useCreateEnvironment,
  useGitRelease,
  useReleases,
  useStack,
  useUploadRelease,
} from "../../api/hooks/stacks.js";
import { paths } from "../../app/paths.js";
import { useOrgId } from "../../app/useOrgId.js";
import { CreateEnvironmentDialog, GitReleaseDialog, UploadReleaseDialog } from "./StackDialogs.js";
import { StackSettings } from "./StackSettings.js";
import { StackView } from "./StackView.js";
import { PipelinePanel } from "./PipelinePanel.js";
import { PreviewsPanel } from "./PreviewsPanel.js";
import { usePendingApprovals, usePromote } from "../../api/hooks/deployments.js";
import { keys } from "../../api/keys.js";
import type { StackDetail } from "../../api/types.js";
import { newIdempotencyKey } from "../../components/actor.js";
import { ConfirmDialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";

type StackEnvironment = StackDetail["environments"][number];
interface Promoting {
  from: StackEnvironment;
  to: StackEnvironment;
  idempotencyKey: string;
}

export function StackPage() {
  const orgId = useOrgId();
  const stackId = useParams().stackId ?? "";
  const navigate = useNavigate();
  const me = useMe();
  const stack = useStack(orgId, stackId);
  const releases = useReleases(stackId);
  const clusters = useClusters(orgId);
  const createEnv = useCreateEnvironment(orgId, stackId);
  const upload = useUploadRelease(orgId, stackId);
  const fromGit = useGitRelease(orgId, stackId);
  const [open, setOpen] = useState<null | "env" | "release" | "git">(null);
  const canDeploy = hasPermission(me.data, "deployments:write");
  const approvals = usePendingApprovals(orgId, hasPermission(me.data, "deployments:read"));
  const promote = usePromote(orgId, keys.stack(orgId, stackId));
  const [promoting, setPromoting] = useState<Promoting | null>(null);
  const closePromote = () => {
    setPromoting(null);
    promote.reset();
  };
  // Read only while the git dialog is open: the credential list is for choosing one.
  const credentials = useGitCredentialsWhen(orgId, open === "git");
  const close = () => {
    setOpen(null);
    createEnv.reset();
    upload.reset();
    fromGit.reset();
  };
  const clusterById = new Map(clusters.data?.items.map((c) => [c.id, c.name]));
  return (
    <>
      <StackView
        stack={{ data: stack.data, error: stack.error, isLoading: stack.isLoading, onRetry: () => void stack.mutate() }}
        releases={{
          data: releases.data?.items,
          error: releases.error,
          isLoading: releases.isLoading,
          onRetry: () => void releases.mutate(),
        }}
        backHref={paths.stacks(orgId)}
        clusterName={(id) => clusterById.get(id) ?? id.slice(0, 8)}
        environmentHref={(e) => paths.environment(orgId, e.id)}
        releaseHref={(r) => paths.release(orgId, r.id)}
        canWrite={hasPermission(me.data, "stacks:write")}
        onCreateEnvironment={() => setOpen("env")}
        onUploadRelease={() => setOpen("release")}
        onGitRelease={() => setOpen("git")}
        pipeline={(s) => (
          <PipelinePanel
            stack={s}
            approvals={approvals.data?.items ?? []}
            environmentHref={(id) => paths.environment(orgId, id)}
            deploymentHref={(id) => paths.deployment(orgId, id)}
            canDeploy={canDeploy}
            onPromote={(from, to) => setPromoting({ from, to, idempotencyKey: newIdempotencyKey() })}
          />
        )}
        previews={(s) => (
          <PreviewsPanel
            stack={s}
            environmentHref={(id) => paths.environment(orgId, id)}
            releaseHref={(id) => paths.release(orgId, id)}
            deploymentHref={(id) => paths.deployment(orgId, id)}
          />
        )}
        manage={(s) => <StackSettings orgId={orgId} stack={s} canWrite={hasPermission(me.data, "stacks:write")} />}
      />
      {promoting && (
        <ConfirmDialog
          title={`Promote v${promoting.from.currentRelease?.version ?? "?"} from ${promoting.from.name} to ${promoting.to.name}?`}
          confirmLabel={`Promote to ${promoting.to.name}`}
          busy={promote.isMutating}
          error={promote.error ? <ErrorNotice error={promote.error} compact /> : null}
          onCancel={closePromote}
          onConfirm={() =>
            void promote
              .trigger({
                sourceEnvId: promoting.from.id,
                targetEnvironmentId: promoting.to.id,
                idempotencyKey: promoting.idempotencyKey,
              })
              .then((d) => d && navigate(paths.deployment(orgId, d.id)))
          }
        >
          {promoting.to.name} gets the release that runs in {promoting.from.name}, with {promoting.to.name}'s own
          overlay and secrets.
          {promoting.to.approval.required
            ? ` It waits for an approval by a ${promoting.to.approval.role} other than you before anything is sent to the cluster.`
            : ""}
        </ConfirmDialog>
      )}
      {open === "env" && (
        <CreateEnvironmentDialog
          stackName={stack.data?.name}
          clusters={clusters.data?.items}
          clustersError={clusters.error}
          busy={createEnv.isMutating}
          error={createEnv.error}
          onSubmit={(input) => void createEnv.trigger(input).then((e) => e && close())}
          onClose={close}
        />
      )}
      {open === "release" && (
        <UploadReleaseDialog
          busy={upload.isMutating}
          error={upload.error}
          onSubmit={(input) => void upload.trigger(input).then((r) => r && navigate(paths.release(orgId, r.id)))}
          onClose={close}
        />
      )}
      {open === "git" && (
        <GitReleaseDialog
          credentials={credentials.data?.items}
          credentialsError={credentials.error}
          busy={fromGit.isMutating}
          error={fromGit.error}
          onSubmit={(input) => void fromGit.trigger(input).then((r) => r && navigate(paths.release(orgId, r.id)))}
          onClose={close}
        />
      )}
    </>
  );
}

function useGitCredentialsWhen(orgId: string, enabled: boolean) {
  return useGitCredentials(enabled ? orgId : null);
}

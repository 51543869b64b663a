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
        manage={(s) => <StackSettings orgId={orgId} stack={s} canWrite={hasPermission(me.data, "stacks:write")} />}
      />
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

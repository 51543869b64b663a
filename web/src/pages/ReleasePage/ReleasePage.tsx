import { useParams } from "react-router-dom";
import { useRelease, useStack } from "../../api/hooks/stacks.js";
import { paths } from "../../app/paths.js";
import { useOrgId } from "../../app/useOrgId.js";
import { ReleaseView } from "./ReleaseView.js";

export function ReleasePage() {
  const orgId = useOrgId();
  const releaseId = useParams().releaseId ?? "";
  const release = useRelease(releaseId);
  const stack = useStack(orgId, release.data?.stackId ?? "");
  return (
    <ReleaseView
      state={{
        data: release.data,
        error: release.error,
        isLoading: release.isLoading,
        onRetry: () => void release.mutate(),
      }}
      environments={{
        data: release.data ? stack.data?.environments : undefined,
        error: stack.error,
        isLoading: !release.data || stack.isLoading,
        onRetry: () => void stack.mutate(),
      }}
      stackHref={(stackId) => paths.stack(orgId, stackId)}
      deployHref={(envId) => paths.diff(orgId, envId, releaseId)}
    />
  );
}

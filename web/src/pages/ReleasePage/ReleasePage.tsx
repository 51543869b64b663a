import { useParams } from "react-router-dom";
import { useCancelBuild, useRelease, useReleaseBuild, useStack } from "../../api/hooks/stacks.js";
import { actions } from "../../api/keys.js";
import { ReleaseBuildPanel } from "./ReleaseBuildPanel.js";
import { paths } from "../../app/paths.js";
import { useOrgId } from "../../app/useOrgId.js";
import { ReleaseView } from "./ReleaseView.js";

export function ReleasePage() {
  const orgId = useOrgId();
  const releaseId = useParams().releaseId ?? "";
  const release = useRelease(releaseId);
  const stack = useStack(orgId, release.data?.stackId ?? "");
  const buildId = release.data?.buildId ?? null;
  const build = useReleaseBuild(buildId);
  const cancel = useCancelBuild(buildId ?? "");
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
      build={
        buildId ? (
          <ReleaseBuildPanel
            buildId={buildId}
            eventsPath={actions.buildEvents(buildId)}
            state={{
              data: build.data,
              error: build.error,
              isLoading: build.isLoading,
              onRetry: () => void build.mutate(),
            }}
            canceling={cancel.isMutating}
            onCancel={() => void cancel.trigger()}
            // The end of the build settles the release's state (ready / failed / canceled) and the build's details.
            onEnd={() => {
              void build.mutate();
              void release.mutate();
            }}
          />
        ) : undefined
      }
    />
  );
}

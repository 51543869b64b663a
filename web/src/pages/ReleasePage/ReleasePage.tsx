import { useParams } from "react-router-dom";
import { useRelease } from "../../api/hooks/stacks.js";
import { paths } from "../../app/paths.js";
import { useOrgId } from "../../app/useOrgId.js";
import { ReleaseView } from "./ReleaseView.js";

export function ReleasePage() {
  const orgId = useOrgId();
  const releaseId = useParams().releaseId ?? "";
  const release = useRelease(releaseId);
  return (
    <ReleaseView
      state={{
        data: release.data,
        error: release.error,
        isLoading: release.isLoading,
        onRetry: () => void release.mutate(),
      }}
      stackHref={(stackId) => paths.stack(orgId, stackId)}
    />
  );
}

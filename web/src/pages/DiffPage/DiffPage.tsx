import { useParams, useSearchParams } from "react-router-dom";
import { useDiff, useEnvironment, useReleases } from "../../api/hooks/stacks.js";
import { paths } from "../../app/paths.js";
import { useOrgId } from "../../app/useOrgId.js";
import { DiffView } from "./DiffView.js";

/** `?from=current|<releaseId>&to=<releaseId>`; `to` defaults to the newest release. */
export function DiffPage() {
  const orgId = useOrgId();
  const envId = useParams().envId ?? "";
  const [params, setParams] = useSearchParams();
  const from = params.get("from") ?? "current";
  const env = useEnvironment(envId);
  const releases = useReleases(env.data?.stackId ?? null);
  const to = params.get("to") ?? releases.data?.items[0]?.id ?? null;
  const diff = useDiff(envId, from, to);
  if (releases.data && releases.data.items.length === 0) {
    return <div className="notice">This stack has no releases yet, so there is nothing to compare.</div>;
  }
  return (
    <DiffView
      title={env.data ? `Diff · ${env.data.stack.name} / ${env.data.name}` : "Diff"}
      backHref={paths.environment(orgId, envId)}
      from={from}
      to={to ?? ""}
      releases={releases.data?.items ?? []}
      onChange={(f, t) => setParams({ from: f, to: t })}
      state={{
        data: diff.data,
        error: diff.error ?? env.error ?? releases.error,
        isLoading: diff.isLoading,
        onRetry: () => void Promise.all([env.mutate(), releases.mutate(), diff.mutate()]),
      }}
    />
  );
}

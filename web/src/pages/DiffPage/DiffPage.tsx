import { useMemo, useState } from "react";
import { useNavigate, useParams, useSearchParams } from "react-router-dom";
import { useDeploy } from "../../api/hooks/deployments.js";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import { useDiff, useEnvironment, useReleases } from "../../api/hooks/stacks.js";
import { paths } from "../../app/paths.js";
import { useOrgId } from "../../app/useOrgId.js";
import { newIdempotencyKey } from "../../components/actor.js";
import { ConfirmDialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { DiffView, sideLabel } from "./DiffView.js";

/** `?from=current|<releaseId>&to=<releaseId>`; `to` defaults to the newest release. Deploys `to` from here. */
export function DiffPage() {
  const orgId = useOrgId();
  const envId = useParams().envId ?? "";
  const navigate = useNavigate();
  const me = useMe();
  const [params, setParams] = useSearchParams();
  const from = params.get("from") ?? "current";
  const env = useEnvironment(envId);
  const releases = useReleases(env.data?.stackId ?? null);
  const to = params.get("to") ?? releases.data?.items[0]?.id ?? null;
  const diff = useDiff(envId, from, to);
  const deploy = useDeploy(envId);
  const [confirming, setConfirming] = useState(false);
  // One key per release: a retry after a lost answer is the same deployment, another release a new one.
  const idempotencyKey = useMemo(() => (to ? newIdempotencyKey() : ""), [to]);
  if (releases.data && releases.data.items.length === 0) {
    return <div className="notice">This stack has no releases yet, so there is nothing to compare.</div>;
  }
  const target = releases.data?.items.find((r) => r.id === to);
  const where = env.data ? `${env.data.stack.name} / ${env.data.name}` : "this environment";
  return (
    <>
      <DiffView
        title={env.data ? `Diff · ${env.data.stack.name} / ${env.data.name}` : "Diff"}
        backHref={paths.environment(orgId, envId)}
        from={from}
        to={to ?? ""}
        releases={releases.data?.items ?? []}
        onChange={(f, t) => setParams({ from: f, to: t })}
        deploy={{
          label: target ? `Deploy v${target.version}` : "Deploy",
          allowed: hasPermission(me.data, "deployments:write"),
          ready: Boolean(target),
          onClick: () => setConfirming(true),
        }}
        state={{
          data: diff.data,
          error: diff.error ?? env.error ?? releases.error,
          isLoading: diff.isLoading,
          onRetry: () => void Promise.all([env.mutate(), releases.mutate(), diff.mutate()]),
        }}
      />
      {confirming && target && (
        <ConfirmDialog
          title={`Deploy v${target.version} to ${where}?`}
          confirmLabel={`Deploy v${target.version}`}
          busy={deploy.isMutating}
          error={deploy.error ? <ErrorNotice error={deploy.error} compact /> : null}
          onCancel={() => {
            setConfirming(false);
            deploy.reset();
          }}
          onConfirm={() =>
            void deploy
              .trigger({ releaseId: target.id, idempotencyKey })
              .then((d) => d && navigate(paths.deployment(orgId, d.id)))
          }
        >
          {diff.data && from === "current" ? (
            <>
              It replaces {sideLabel(diff.data.from)} on the cluster with v{target.version}: the changes above. The
              deployment is queued behind any running one of this environment.
            </>
          ) : (
            <>
              The diff above is not against what runs now. The deployment replaces whatever is deployed with v
              {target.version}, queued behind any running one of this environment.
            </>
          )}
        </ConfirmDialog>
      )}
    </>
  );
}

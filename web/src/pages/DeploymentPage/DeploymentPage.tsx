import { useState } from "react";
import { useParams } from "react-router-dom";
import { useCancelDeployment, useDeployment } from "../../api/hooks/deployments.js";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import { useEnvironment } from "../../api/hooks/stacks.js";
import { useUsers } from "../../api/hooks/users.js";
import { paths } from "../../app/paths.js";
import { useOrgId } from "../../app/useOrgId.js";
import { actorName } from "../../components/actor.js";
import { DeploymentConsole } from "../../components/DeploymentConsole.js";
import { ConfirmDialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { DeploymentView } from "./DeploymentView.js";

export function DeploymentPage() {
  const orgId = useOrgId();
  const deploymentId = useParams().deploymentId ?? "";
  const me = useMe();
  const deployment = useDeployment(deploymentId);
  const env = useEnvironment(deployment.data?.environmentId ?? null);
  const users = useUsers(orgId, hasPermission(me.data, "users:read"));
  const cancel = useCancelDeployment(deploymentId);
  const [confirming, setConfirming] = useState(false);
  const close = () => {
    setConfirming(false);
    cancel.reset();
  };
  const d = deployment.data;
  return (
    <>
      <DeploymentView
        state={{
          data: d,
          error: deployment.error,
          isLoading: deployment.isLoading,
          onRetry: () => void deployment.mutate(),
        }}
        environment={env.data}
        environmentHref={(id) => paths.environment(orgId, id)}
        releaseHref={(id) => paths.release(orgId, id)}
        actorName={(x) => actorName(x.createdBy, x.createdByType, me.data, users.data?.items ?? [])}
        canCancel={hasPermission(me.data, "deployments:write")}
        onCancel={() => setConfirming(true)}
        console={<DeploymentConsole deploymentId={deploymentId} tall onEnd={() => void deployment.mutate()} />}
      />
      {confirming && d && (
        <ConfirmDialog
          title={`Cancel the deployment of v${d.releaseVersion ?? "?"}?`}
          confirmLabel="Cancel deployment"
          cancelLabel="Keep it"
          busy={cancel.isMutating}
          error={cancel.error ? <ErrorNotice error={cancel.error} compact /> : null}
          onCancel={close}
          onConfirm={() => void cancel.trigger().then((r) => r && close())}
        >
          {d.status === "PENDING"
            ? "It has not started; it is removed from the queue."
            : "The agent stops it where it is: services already updated stay updated. Deploy again or roll back to get to a known state."}
        </ConfirmDialog>
      )}
    </>
  );
}

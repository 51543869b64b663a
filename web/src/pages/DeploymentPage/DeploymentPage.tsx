import { useState } from "react";
import { useNavigate, useParams } from "react-router-dom";
import {
  useDecideApproval,
  useCancelDeployment,
  useDeploy,
  useDeployment,
  useEnvironmentStatus,
  useRollback,
  useServiceLogs,
} from "../../api/hooks/deployments.js";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import { useEnvironment } from "../../api/hooks/stacks.js";
import { useUsers } from "../../api/hooks/users.js";
import type { Deployment } from "../../api/types.js";
import { paths } from "../../app/paths.js";
import { useOrgId } from "../../app/useOrgId.js";
import { actorName, newIdempotencyKey } from "../../components/actor.js";
import { AsyncContent } from "../../components/AsyncContent.js";
import { DeploymentConsole } from "../../components/DeploymentConsole.js";
import { ConfirmDialog, Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { LogsDialog } from "../EnvironmentPage/ServicesPanel.js";
import { DeploymentView } from "./DeploymentView.js";

type Asking = { kind: "cancel" } | { kind: "rollback" | "redeploy"; idempotencyKey: string } | { kind: "logs" };

export function DeploymentPage() {
  const orgId = useOrgId();
  const navigate = useNavigate();
  const deploymentId = useParams().deploymentId ?? "";
  const me = useMe();
  const deployment = useDeployment(deploymentId);
  const envId = deployment.data?.environmentId ?? null;
  const env = useEnvironment(envId);
  const users = useUsers(orgId, hasPermission(me.data, "users:read"));
  const cancel = useCancelDeployment(deploymentId);
  const decide = useDecideApproval(orgId, deploymentId);
  const rollback = useRollback(envId ?? "");
  const redeploy = useDeploy(envId ?? "");
  const [asking, setAsking] = useState<Asking | null>(null);
  const close = () => {
    setAsking(null);
    cancel.reset();
    rollback.reset();
    redeploy.reset();
  };
  const d = deployment.data;
  const canDeploy = hasPermission(me.data, "deployments:write");
  const current = env.data?.currentRelease ?? null;
  const noPermission = "Needs the deployments:write permission";
  const rollbackDisabled = !canDeploy
    ? noPermission
    : !env.data
      ? "Loading the environment…"
      : !current
        ? "The environment has no successful deployment to roll back to"
        : null;
  const approvalRole = env.data?.approval.role ?? null;
  const requestedByMe = !!d && !!me.data && d.createdByType === "user" && d.createdBy === me.data.user.id;
  // The server decides (the requester's API tokens count as the requester too); this only explains the buttons.
  const approvalDisabled = !canDeploy
    ? noPermission
    : requestedByMe
      ? "You requested this deployment: another user must approve it"
      : approvalRole && me.data && me.data.role !== approvalRole && me.data.role !== "ORG_ADMIN"
        ? `Needs the role ${approvalRole} (or ORG_ADMIN)`
        : null;
  const opened = (created: Deployment | undefined) => {
    if (!created) return;
    close();
    navigate(paths.deployment(orgId, created.id));
  };
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
        deploymentHref={(id) => paths.deployment(orgId, id)}
        actorName={(x) => actorName(x.createdBy, x.createdByType, me.data, users.data?.items ?? [])}
        canCancel={canDeploy}
        onCancel={() => setAsking({ kind: "cancel" })}
        next={{
          rollbackVersion: current?.version ?? null,
          rollbackDisabled,
          redeployDisabled: canDeploy ? null : noPermission,
          onRollBack: () => setAsking({ kind: "rollback", idempotencyKey: newIdempotencyKey() }),
          onRedeploy: () => setAsking({ kind: "redeploy", idempotencyKey: newIdempotencyKey() }),
          onOpenLogs: () => setAsking({ kind: "logs" }),
        }}
        approval={{
          role: approvalRole,
          disabled: approvalDisabled,
          busy: decide.isMutating,
          error: decide.error ? <ErrorNotice error={decide.error} compact /> : null,
          onDecide: (decision, comment) =>
            void decide.trigger({ decision, comment }).then((r) => r && void deployment.mutate()),
        }}
        console={<DeploymentConsole deploymentId={deploymentId} tall onEnd={() => void deployment.mutate()} />}
      />
      {asking?.kind === "cancel" && d && (
        <ConfirmDialog
          title={`Cancel the deployment of v${d.releaseVersion ?? "?"}?`}
          confirmLabel="Cancel deployment"
          cancelLabel="Keep it"
          busy={cancel.isMutating}
          error={cancel.error ? <ErrorNotice error={cancel.error} compact /> : null}
          onCancel={close}
          onConfirm={() => void cancel.trigger().then((r) => r && close())}
        >
          {d.status === "PENDING" || d.status === "AWAITING_APPROVAL"
            ? "It has not started; it is removed from the queue."
            : "The agent stops it where it is: services already updated stay updated. Deploy again or roll back to get to a known state."}
        </ConfirmDialog>
      )}
      {asking?.kind === "rollback" && current && (
        <ConfirmDialog
          title={`Roll back to v${current.version}?`}
          confirmLabel={`Roll back to v${current.version}`}
          busy={rollback.isMutating}
          error={rollback.error ? <ErrorNotice error={rollback.error} compact /> : null}
          onCancel={close}
          onConfirm={() =>
            void rollback.trigger({ releaseId: current.id, idempotencyKey: asking.idempotencyKey }).then(opened)
          }
        >
          A new deployment of release v{current.version}, the environment's last successful one. Services go back to
          that release; volumes and data are not rolled back.
        </ConfirmDialog>
      )}
      {asking?.kind === "redeploy" && d && (
        <ConfirmDialog
          title={`Deploy v${d.releaseVersion ?? "?"} again?`}
          confirmLabel="Redeploy"
          busy={redeploy.isMutating}
          error={redeploy.error ? <ErrorNotice error={redeploy.error} compact /> : null}
          onCancel={close}
          onConfirm={() =>
            void redeploy.trigger({ releaseId: d.releaseId, idempotencyKey: asking.idempotencyKey }).then(opened)
          }
        >
          A new deployment of the same release, with the environment's settings as they are now (fix the image, an env
          var or a secret first, or it fails the same way).
        </ConfirmDialog>
      )}
      {asking?.kind === "logs" && envId && <EnvironmentLogs envId={envId} onClose={close} />}
    </>
  );
}

/** Open logs: the environment's services as the agent sees them, then the chosen one's last lines. */
function EnvironmentLogs(props: { envId: string; onClose: () => void }) {
  const status = useEnvironmentStatus(props.envId, false);
  const [service, setService] = useState<string | null>(null);
  const only = status.data?.services.length === 1 ? (status.data.services[0]?.name ?? null) : null;
  const chosen = service ?? only;
  const logs = useServiceLogs(props.envId, chosen);
  if (chosen) {
    return (
      <LogsDialog
        service={chosen}
        state={{ data: logs.data, error: logs.error, isLoading: logs.isLoading, onRetry: () => void logs.mutate() }}
        refreshing={logs.isValidating}
        onRefresh={() => void logs.mutate()}
        onClose={props.onClose}
      />
    );
  }
  return (
    <Dialog title="Logs of which service?" onClose={props.onClose}>
      <AsyncContent
        state={{
          data: status.data,
          error: status.error,
          isLoading: status.isLoading,
          onRetry: () => void status.mutate(),
        }}
        loadingLabel="Asking the agent for the environment's services…"
        isEmpty={(s) => s.services.length === 0}
        empty={<p className="muted">The stack has no services on the cluster.</p>}
      >
        {(s) => (
          <ul className="plain">
            {s.services.map((x) => (
              <li key={x.name}>
                <button type="button" className="secondary small" onClick={() => setService(x.name)}>
                  {x.name}
                </button>
              </li>
            ))}
          </ul>
        )}
      </AsyncContent>
      <div className="actions">
        <button type="button" onClick={props.onClose}>
          Done
        </button>
      </div>
    </Dialog>
  );
}

import { useState } from "react";
import { useNavigate, useParams } from "react-router-dom";
import {
  useAcknowledgeSecurityWarning,
  useCluster,
  useClusterActivity,
  useClusterNodes,
  useClusterSecurityWarnings,
  useClusterServices,
  useDeleteCluster,
  useIssueRegistrationToken,
  useRevokeCluster,
  useUpdateClusterNode,
} from "../../api/hooks/clusters.js";
import { useClusterComposePolicy, usePutClusterComposePolicy } from "../../api/hooks/policy.js";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import { paths } from "../../app/paths.js";
import { useOrgId } from "../../app/useOrgId.js";
import { AgentInstallCommands } from "../../components/AgentInstall.js";
import { OneTimeSecret } from "../../components/CopyButton.js";
import { ConfirmDialog, Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { useStacks } from "../../api/hooks/stacks.js";
import { ActivityFeed } from "./ActivityFeed.js";
import { ClusterEnvironments } from "./ClusterEnvironments.js";
import { ClusterServicesPanel } from "./ClusterServices.js";
import { ClusterPolicyPanel } from "./ClusterPolicyPanel.js";
import { ClusterView } from "./ClusterView.js";
import { SecurityWarnings } from "./SecurityWarnings.js";

const ACTIVITY_PAGE_SIZE = 50;

type Open = null | "token" | "revoke" | "delete";

export function ClusterPage() {
  const orgId = useOrgId();
  const clusterId = useParams().clusterId ?? "";
  const navigate = useNavigate();
  const me = useMe();
  const cluster = useCluster(orgId, clusterId);
  const nodes = useClusterNodes(orgId, clusterId);
  const issue = useIssueRegistrationToken(orgId, clusterId);
  const revoke = useRevokeCluster(orgId, clusterId);
  const remove = useDeleteCluster(orgId, clusterId);
  const activity = useClusterActivity(orgId, clusterId, ACTIVITY_PAGE_SIZE);
  const warnings = useClusterSecurityWarnings(orgId, clusterId);
  const acknowledge = useAcknowledgeSecurityWarning(orgId, clusterId);
  const [acknowledging, setAcknowledging] = useState<string | null>(null);
  const updateNode = useUpdateClusterNode(orgId, clusterId);
  const [updatingNode, setUpdatingNode] = useState<string | null>(null);
  const [open, setOpen] = useState<Open>(null);
  const canWrite = hasPermission(me.data, "clusters:write");
  const activityPages = activity.data;
  const policy = useClusterComposePolicy(orgId, clusterId);
  const savePolicy = usePutClusterComposePolicy(orgId, clusterId);
  const stacks = useStacks(orgId);
  const services = useClusterServices(orgId, clusterId);

  const close = () => {
    setOpen(null);
    issue.reset();
    revoke.reset();
    remove.reset();
  };
  const name = cluster.data?.name ?? "this cluster";
  return (
    <>
      <ClusterView
        cluster={{
          data: cluster.data,
          error: cluster.error,
          isLoading: cluster.isLoading,
          onRetry: () => void cluster.mutate(),
        }}
        nodes={{
          data: nodes.data?.items,
          error: nodes.error,
          isLoading: nodes.isLoading,
          onRetry: () => void nodes.mutate(),
        }}
        backHref={paths.clusters(orgId)}
        canWrite={canWrite}
        nodeActions={{
          busyNodeId: updatingNode,
          error: updateNode.error ? <ErrorNotice error={updateNode.error} compact /> : null,
          onChange: (change) => {
            setUpdatingNode(change.nodeId);
            void updateNode.trigger(change).finally(() => setUpdatingNode(null));
          },
        }}
        warnings={
          <>
            {warnings.error && !warnings.data ? <ErrorNotice error={warnings.error} compact /> : null}
            <SecurityWarnings
              warnings={warnings.data?.items ?? []}
              canAcknowledge={canWrite}
              acknowledging={acknowledging}
              error={acknowledge.error ? <ErrorNotice error={acknowledge.error} compact /> : null}
              onAcknowledge={(warningId) => {
                setAcknowledging(warningId);
                void acknowledge.trigger({ warningId }).finally(() => setAcknowledging(null));
              }}
            />
          </>
        }
        activity={
          <ActivityFeed
            state={{
              data: activityPages?.flatMap((p) => p.items),
              error: activity.error,
              isLoading: activity.isLoading,
              onRetry: () => void activity.mutate(),
            }}
            hasMore={Boolean(activityPages?.at(-1)?.nextBefore)}
            loadingMore={activity.isValidating && activity.size > (activityPages?.length ?? 0)}
            onLoadMore={() => void activity.setSize(activity.size + 1)}
          />
        }
        onNewToken={() => {
          setOpen("token");
          void issue.trigger();
        }}
        onRevoke={() => setOpen("revoke")}
        onDelete={() => setOpen("delete")}
      />
      <ClusterEnvironments
        clusterId={clusterId}
        state={{
          data: stacks.data?.items,
          error: stacks.error,
          isLoading: stacks.isLoading,
          onRetry: () => void stacks.mutate(),
        }}
        stackHref={(id) => paths.stack(orgId, id)}
        environmentHref={(id) => paths.environment(orgId, id)}
      />
      <ClusterServicesPanel
        state={{
          data: services.data,
          error: services.error,
          isLoading: services.isLoading,
          onRetry: () => void services.mutate(),
        }}
        environmentHref={(id) => paths.environment(orgId, id)}
      />
      <ClusterPolicyPanel
        state={{
          data: policy.data,
          error: policy.error,
          isLoading: policy.isLoading,
          onRetry: () => void policy.mutate(),
        }}
        orgPolicyHref={paths.composePolicy(orgId)}
        canWrite={hasPermission(me.data, "clusters:write")}
        saving={savePolicy.isMutating}
        saveError={savePolicy.error}
        onSave={(input) => void savePolicy.trigger(input)}
      />
      {open === "token" && (
        <Dialog title="New registration token" onClose={close} dismissable={!issue.data}>
          {issue.isMutating && <p>Issuing…</p>}
          {issue.error ? <ErrorNotice error={issue.error} compact /> : null}
          {issue.data && (
            <>
              <p>Any unused token issued before is no longer valid.</p>
              <AgentInstallCommands
                install={issue.data.agentInstall}
                expiresAt={issue.data.registrationTokenExpiresAt}
              />
              <OneTimeSecret label="Registration token" value={issue.data.registrationToken} />
            </>
          )}
          <div className="actions">
            <button type="button" onClick={close}>
              Done
            </button>
          </div>
        </Dialog>
      )}
      {open === "revoke" && (
        <ConfirmDialog
          title={`Revoke the agent of ${name}?`}
          confirmLabel="Revoke agent"
          busy={revoke.isMutating}
          error={revoke.error ? <ErrorNotice error={revoke.error} compact /> : null}
          onCancel={close}
          onConfirm={() => void revoke.trigger().then((r) => r && close())}
        >
          The agent is disconnected at once and its credentials stop working. The cluster stays; a new registration
          token attaches an agent again.
        </ConfirmDialog>
      )}
      {open === "delete" && (
        <ConfirmDialog
          title={`Delete ${name}?`}
          confirmLabel="Delete cluster"
          busy={remove.isMutating}
          error={remove.error ? <ErrorNotice error={remove.error} compact /> : null}
          onCancel={close}
          onConfirm={() => void remove.trigger().then((r) => r && navigate(paths.clusters(orgId)))}
        >
          The agent is disconnected and the cluster is removed from Stackyard. Services already running on the Swarm are
          left alone.
        </ConfirmDialog>
      )}
    </>
  );
}

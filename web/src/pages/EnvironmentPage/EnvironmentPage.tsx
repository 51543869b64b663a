import { useCallback, useRef, useState } from "react";
import { useParams } from "react-router-dom";
import {
  useCancelDeployment,
  useDeploy,
  useDeployments,
  useEnvironmentStatus,
  useRollback,
  useScaleService,
  useServiceLogs,
} from "../../api/hooks/deployments.js";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import {
  useDeleteSecret,
  useEnvironment,
  useOverlay,
  usePutOverlay,
  usePutSecret,
  useReleases,
  useSecrets,
} from "../../api/hooks/stacks.js";
import { useUsers } from "../../api/hooks/users.js";
import {
  isDeploymentActive,
  type Deployment,
  type EnvironmentStatus,
  type Secret,
  type ServiceStatus,
} from "../../api/types.js";
import { formatDateTime } from "../../components/RelativeTime.js";
import { paths } from "../../app/paths.js";
import { useOrgId } from "../../app/useOrgId.js";
import { actorName } from "../../components/actor.js";
import { AsyncContent } from "../../components/AsyncContent.js";
import { ConfirmDialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { consoleDeployment, CurrentDeployment, DeploymentHistory } from "./DeploymentsPanel.js";
import { EnvironmentSettings } from "./EnvironmentSettings.js";
import { EnvironmentView } from "./EnvironmentView.js";
import { OverlayEditor } from "./OverlayEditor.js";
import { ReleaseDialog, type DeploymentQueue } from "./ReleaseDialog.js";
import { SecretDialog, SecretsPanel } from "./SecretsPanel.js";
import { LogsPanel } from "./LogsPanel.js";
import { RegistriesPanel } from "./RegistriesPanel.js";
import {
  useAttachRegistryCredential,
  useDetachRegistryCredential,
  useEnvironmentRegistryCredentials,
  useRegistryCredentials,
} from "../../api/hooks/registries.js";
import { LogsDialog, ScaleDialog, ServicesPanel } from "./ServicesPanel.js";
import { SyncPanel } from "./SyncPanel.js";
import { usePinEnvironment, useSetUpAutoSync, useSyncSource, useUnpinEnvironment } from "../../api/hooks/sync.js";

export const HISTORY_PAGE_SIZE = 10;
const PROGRESS_REFRESH_MS = 1_000;

/** The release a rollback goes back to by default, as the API picks it: the last successful one before the current. */
export function previousSuccessfulRelease(newestFirst: readonly Deployment[]): string | null {
  const succeeded = newestFirst.filter((d) => d.status === "SUCCEEDED");
  const current = succeeded[0]?.releaseId;
  return succeeded.find((d) => d.releaseId !== current)?.releaseId ?? null;
}

/** Releases whose newest finished deployment in this environment failed. */
export function failedReleases(newestFirst: readonly Deployment[]): Set<string> {
  const seen = new Set<string>();
  const failed = new Set<string>();
  for (const d of newestFirst) {
    if (isDeploymentActive(d.status) || seen.has(d.releaseId)) continue;
    seen.add(d.releaseId);
    if (d.status === "FAILED") failed.add(d.releaseId);
  }
  return failed;
}

/** The running deployment and the queued ones (oldest first) of a newest-first history. */
export function deploymentQueue(newestFirst: readonly Deployment[]): DeploymentQueue {
  return {
    running: newestFirst.find((d) => d.status === "RUNNING") ?? null,
    queued: newestFirst.filter((d) => d.status === "PENDING").reverse(),
  };
}

/** Why the agent cannot do anything now, in words, or null while it is there (or not known to be gone). */
export function agentOfflineReason(agent: EnvironmentStatus["agent"] | undefined): string | null {
  if (agent?.status !== "offline" && agent?.status !== "link_down") return null;
  if (!agent.offlineSince) return "The cluster's agent has never connected";
  return agent.status === "link_down"
    ? `The cluster's site cannot reach the hub (link down) since ${formatDateTime(agent.offlineSince)}`
    : `The cluster's agent is offline since ${formatDateTime(agent.offlineSince)}`;
}

export function EnvironmentPage() {
  const orgId = useOrgId();
  const envId = useParams().envId ?? "";
  const me = useMe();
  const env = useEnvironment(envId);
  const releases = useReleases(env.data?.stackId ?? null);
  const users = useUsers(orgId, hasPermission(me.data, "users:read"));
  const history = useDeployments(envId, HISTORY_PAGE_SIZE);
  const deployments = history.data?.flatMap((p) => p.items);
  const current = deployments ? consoleDeployment(deployments) : undefined;
  const busy = current ? isDeploymentActive(current.status) : false;
  const status = useEnvironmentStatus(envId, busy);

  const canDeploy = hasPermission(me.data, "deployments:write");
  const canWriteStacks = hasPermission(me.data, "stacks:write");
  const canWriteSecrets = hasPermission(me.data, "secrets:write");

  const [releaseDialog, setReleaseDialog] = useState<"deploy" | "rollback" | null>(null);
  const [canceling, setCanceling] = useState<Deployment | null>(null);
  const [scaling, setScaling] = useState<ServiceStatus | null>(null);
  const [logsOf, setLogsOf] = useState<string | null>(null);
  const [editing, setEditing] = useState<{ existing: Secret | null } | null>(null);
  const [deleting, setDeleting] = useState<Secret | null>(null);

  const overlay = useOverlay(envId);
  const sync = env.data?.sync;
  const syncSource = useSyncSource(sync?.mode === "automatic" ? sync.sourceId : null);
  const unpin = useUnpinEnvironment(envId);
  const pin = usePinEnvironment(envId);
  const setUpSync = useSetUpAutoSync(env.data?.stackId ?? null, envId);
  const saveOverlay = usePutOverlay(envId);
  const secrets = useSecrets(envId);
  const putSecret = usePutSecret(envId);
  const deleteSecret = useDeleteSecret(envId);
  const orgCredentials = useRegistryCredentials(orgId);
  const envCredentials = useEnvironmentRegistryCredentials(envId);
  const attachCredential = useAttachRegistryCredential(envId);
  const detachCredential = useDetachRegistryCredential(envId);
  const deploy = useDeploy(envId);
  const rollback = useRollback(envId);
  const cancel = useCancelDeployment(canceling?.id ?? "");
  const scale = useScaleService(envId);
  const logs = useServiceLogs(envId, logsOf);

  const { mutate: refreshHistory } = history;
  const { mutate: refreshEnv } = env;
  const { mutate: refreshStatus } = status;
  // The list is polled; a queued deployment that starts shows it first in its events, so they prompt a refresh.
  const lastProgressRefresh = useRef(0);
  const currentStatus = current?.status;
  const onDeploymentEvent = useCallback(() => {
    if (currentStatus !== "PENDING" || Date.now() - lastProgressRefresh.current < PROGRESS_REFRESH_MS) return;
    lastProgressRefresh.current = Date.now();
    void refreshHistory();
  }, [currentStatus, refreshHistory]);
  const onDeploymentEnd = useCallback(() => {
    void refreshHistory();
    void refreshEnv();
    void refreshStatus();
  }, [refreshHistory, refreshEnv, refreshStatus]);

  const releaseItems = releases.data?.items ?? [];
  const currentReleaseId = env.data?.currentRelease?.id ?? null;
  const previous = deployments ? previousSuccessfulRelease(deployments) : null;
  const deployBlocked = !canDeploy
    ? "Needs the deployments:write permission"
    : releaseItems.length === 0
      ? "This stack has no releases yet"
      : null;
  const rollbackBlocked =
    deployBlocked ??
    (currentReleaseId === null
      ? "Nothing is deployed yet"
      : releaseItems.length < 2
        ? "There is no other release to roll back to"
        : null);
  const queue = deploymentQueue(deployments ?? []);
  const failed = failedReleases(deployments ?? []);
  const offline = agentOfflineReason(status.data?.agent);
  const active = queue.running ?? queue.queued[0] ?? null;
  const scaleBlocked = !canDeploy
    ? "Needs the deployments:write permission"
    : offline
      ? offline.replace(/^The/, "the")
      : active
        ? `deployment of v${active.releaseVersion ?? "?"} is ${active.status === "RUNNING" ? "running" : "queued"}; scale when it ends`
        : null;
  const logsBlocked = offline ? offline.replace(/^The/, "the") : null;
  const who = (d: Deployment) => actorName(d.createdBy, d.createdByType, me.data, users.data?.items ?? []);

  const closeRelease = () => {
    setReleaseDialog(null);
    deploy.reset();
    rollback.reset();
  };
  const closeCancel = () => {
    setCanceling(null);
    cancel.reset();
  };
  const closeScale = () => {
    setScaling(null);
    scale.reset();
  };
  const closeSecret = () => {
    setEditing(null);
    putSecret.reset();
  };
  const closeDelete = () => {
    setDeleting(null);
    deleteSecret.reset();
  };
  const releaseMutation = releaseDialog === "rollback" ? rollback : deploy;
  const hasMore = Boolean(history.data?.[history.data.length - 1]?.nextBefore);

  return (
    <>
      <EnvironmentView
        state={{ data: env.data, error: env.error, isLoading: env.isLoading, onRetry: () => void env.mutate() }}
        releases={releaseItems}
        failedReleaseIds={failed}
        stackHref={(id) => paths.stack(orgId, id)}
        clusterHref={(id) => paths.cluster(orgId, id)}
        releaseHref={(id) => paths.release(orgId, id)}
        diffHref={(to) => paths.diff(orgId, envId, to)}
        deployBlocked={deployBlocked}
        rollbackBlocked={rollbackBlocked}
        onDeploy={() => setReleaseDialog("deploy")}
        onRollback={() => setReleaseDialog("rollback")}
        manage={(e) => <EnvironmentSettings orgId={orgId} env={e} canWrite={canWriteStacks} />}
        deployment={
          <CurrentDeployment
            state={{
              data: current,
              error: history.error,
              isLoading: history.isLoading,
              onRetry: () => void history.mutate(),
            }}
            actorName={who}
            deploymentHref={(id) => paths.deployment(orgId, id)}
            canCancel={canDeploy}
            onCancel={setCanceling}
            onEvent={onDeploymentEvent}
            onEnd={onDeploymentEnd}
          />
        }
        services={
          <ServicesPanel
            state={{
              data: status.data,
              error: status.error,
              isLoading: status.isLoading,
              onRetry: () => void status.mutate(),
            }}
            scaleBlocked={scaleBlocked}
            logsBlocked={logsBlocked}
            onScale={setScaling}
            onLogs={(s) => setLogsOf(s.name)}
            serviceHref={(s) => paths.service(orgId, envId, s.name)}
          />
        }
        history={
          <DeploymentHistory
            state={{
              data: deployments,
              error: history.error,
              isLoading: history.isLoading,
              onRetry: () => void history.mutate(),
            }}
            actorName={who}
            deploymentHref={(id) => paths.deployment(orgId, id)}
            releaseHref={(id) => paths.release(orgId, id)}
            hasMore={hasMore}
            loadingMore={history.isValidating && history.data !== undefined && history.data.length < history.size}
            onLoadMore={() => void history.setSize(history.size + 1)}
          />
        }
        overlay={
          <AsyncContent
            state={{
              data: overlay.data,
              error: overlay.error,
              isLoading: overlay.isLoading,
              onRetry: () => void overlay.mutate(),
            }}
            loadingLabel="Loading overlay…"
          >
            {(o) => (
              <OverlayEditor
                key={o.updatedAt}
                overlay={o}
                canWrite={canWriteStacks}
                busy={saveOverlay.isMutating}
                error={saveOverlay.error}
                saved={saveOverlay.data !== undefined}
                onSave={(input) => void saveOverlay.trigger(input)}
              />
            )}
          </AsyncContent>
        }
        secrets={
          <SecretsPanel
            state={{
              data: secrets.data?.items,
              error: secrets.error,
              isLoading: secrets.isLoading,
              onRetry: () => void secrets.mutate(),
            }}
            canWrite={canWriteSecrets}
            onSet={(existing) => setEditing({ existing })}
            onDelete={setDeleting}
          />
        }
        sync={
          sync && (
            <SyncPanel
              sync={sync}
              source={{
                data: syncSource.data,
                error: syncSource.error,
                isLoading: syncSource.isLoading,
                onRetry: () => void syncSource.mutate(),
              }}
              canPin={canDeploy}
              pin={{
                busy: pin.isMutating,
                error: pin.error,
                onPin: (reason) =>
                  void pin.trigger(reason).then((r) => {
                    if (r) void env.mutate();
                  }),
              }}
              busy={unpin.isMutating}
              error={unpin.error}
              onUnpin={() =>
                void unpin.trigger().then((r) => {
                  if (!r) return;
                  void env.mutate();
                  void history.mutate();
                })
              }
              setUp={
                canWriteStacks
                  ? {
                      busy: setUpSync.isMutating,
                      error: setUpSync.error,
                      createdSecret: setUpSync.data?.webhookSecret ?? null,
                      onSubmit: (input) =>
                        void setUpSync.trigger(input).then((r) => {
                          if (r) void env.mutate();
                        }),
                    }
                  : null
              }
            />
          )
        }
        logs={<LogsPanel envId={envId} />}
        registries={
          <RegistriesPanel
            state={{
              data: envCredentials.data?.items,
              error: envCredentials.error,
              isLoading: envCredentials.isLoading,
              onRetry: () => void envCredentials.mutate(),
            }}
            available={orgCredentials.data?.items ?? []}
            canWrite={canWriteSecrets}
            busy={attachCredential.isMutating || detachCredential.isMutating}
            error={attachCredential.error ?? detachCredential.error}
            onAttach={(id) => {
              detachCredential.reset();
              void attachCredential.trigger(id);
            }}
            onDetach={(c) => {
              attachCredential.reset();
              void detachCredential.trigger(c.id);
            }}
          />
        }
      />
      {releaseDialog && (
        <ReleaseDialog
          mode={releaseDialog}
          envId={envId}
          releases={releaseItems}
          currentReleaseId={currentReleaseId}
          initialReleaseId={
            releaseDialog === "rollback"
              ? previous
              : (releaseItems.find((r) => !failed.has(r.id))?.id ?? releaseItems[0]?.id ?? null)
          }
          notes={previous ? { [previous]: "previous successful" } : {}}
          failedReleaseIds={failed}
          queue={queue}
          agentOffline={offline}
          replicaOverrides={env.data?.replicaOverrides ?? {}}
          autoSync={sync?.mode === "automatic" && !sync.pinned}
          busy={releaseMutation.isMutating}
          error={releaseMutation.error}
          onSubmit={(input) =>
            void releaseMutation.trigger(input).then((d) => {
              if (!d) return;
              closeRelease();
              void history.mutate();
            })
          }
          onClose={closeRelease}
        />
      )}
      {canceling && (
        <ConfirmDialog
          title={`Cancel the deployment of v${canceling.releaseVersion ?? "?"}?`}
          confirmLabel="Cancel deployment"
          cancelLabel="Keep it"
          busy={cancel.isMutating}
          error={cancel.error ? <ErrorNotice error={cancel.error} compact /> : null}
          onCancel={closeCancel}
          onConfirm={() =>
            void cancel.trigger().then((d) => {
              if (!d) return;
              closeCancel();
              void history.mutate();
            })
          }
        >
          {canceling.status === "PENDING"
            ? "It has not started; it is removed from the queue."
            : "The agent stops it where it is: services already updated stay updated. Deploy again or roll back to get to a known state."}
        </ConfirmDialog>
      )}
      {scaling && (
        <ScaleDialog
          service={scaling}
          busy={scale.isMutating}
          error={scale.error}
          onSubmit={(replicas) =>
            void scale.trigger({ service: scaling.name, replicas }).then((r) => r && closeScale())
          }
          onClose={closeScale}
        />
      )}
      {logsOf && (
        <LogsDialog
          service={logsOf}
          state={{ data: logs.data, error: logs.error, isLoading: logs.isLoading, onRetry: () => void logs.mutate() }}
          refreshing={logs.isValidating}
          onRefresh={() => void logs.mutate()}
          onClose={() => setLogsOf(null)}
        />
      )}
      {editing && (
        <SecretDialog
          existing={editing.existing}
          busy={putSecret.isMutating}
          error={putSecret.error}
          onSubmit={(input) => void putSecret.trigger(input).then((s) => s && closeSecret())}
          onClose={closeSecret}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete secret ${deleting.name}?`}
          confirmLabel="Delete secret"
          busy={deleteSecret.isMutating}
          error={deleteSecret.error ? <ErrorNotice error={deleteSecret.error} compact /> : null}
          onCancel={closeDelete}
          onConfirm={() => void deleteSecret.trigger(deleting.name).then((s) => s && closeDelete())}
        >
          Deployments from now on no longer mount it. Services already running keep it until they are redeployed.
        </ConfirmDialog>
      )}
    </>
  );
}

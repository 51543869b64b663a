import { useMemo, useState } from "react";
import { useParams } from "react-router-dom";
import { useClusterNodes } from "../../api/hooks/clusters.js";
import { useServiceAction, useServiceLogLines, useServiceStatus } from "../../api/hooks/deployments.js";
import { hasPermission, useMe } from "../../api/hooks/session.js";
import { useEnvironment } from "../../api/hooks/stacks.js";
import { LOG_TAIL } from "../../api/keys.js";
import { paths } from "../../app/paths.js";
import { useOrgId } from "../../app/useOrgId.js";
import { LiveLogs } from "./LiveLogs.js";
import { ServiceActions } from "./ServiceActions.js";
import { ServiceView, type LogQuery } from "./ServiceView.js";
import { TaskTerminal } from "./TaskTerminal.js";

const LOG_REFRESH_MS = 3_000;

/** One service of an environment: its tasks (node, state, error, when) and its logs. */
export function ServicePage() {
  const orgId = useOrgId();
  const envId = useParams().envId ?? "";
  const service = useParams().service ?? "";
  const env = useEnvironment(envId);
  const status = useServiceStatus(envId);
  const nodes = useClusterNodes(orgId, env.data?.clusterId ?? "");
  const [logQuery, setLogQuery] = useState<LogQuery>({ tail: LOG_TAIL, sinceMinutes: 0, grep: "", refreshing: false });
  // The lower bound is fixed when the range is chosen, so a refresh reads the same window's newest lines.
  const since = useMemo(
    () => (logQuery.sinceMinutes > 0 ? Math.floor(Date.now() / 1000) - logQuery.sinceMinutes * 60 : undefined),
    [logQuery.sinceMinutes],
  );
  const logs = useServiceLogLines(
    envId,
    service,
    { tail: logQuery.tail, ...(since !== undefined ? { since } : {}) },
    logQuery.refreshing ? LOG_REFRESH_MS : 0,
  );
  const title = env.data ? `${env.data.stack.name} / ${env.data.name} · ${service}` : service;
  const me = useMe();
  const action = useServiceAction(envId, service);
  const [terminalTask, setTerminalTask] = useState<string | null>(null);
  return (
    <ServiceView
      title={title}
      service={service}
      backHref={paths.environment(orgId, envId)}
      actions={
        <ServiceActions
          service={service}
          canWrite={hasPermission(me.data, "deployments:write")}
          disabledReason={status.data?.sync.state === "unknown" ? status.data.sync.reason : null}
          busy={action.isMutating}
          error={action.error}
          result={action.data}
          onRun={(a) => action.trigger(a)}
          onReset={action.reset}
        />
      }
      status={{
        data: status.data,
        error: status.error ?? env.error,
        isLoading: status.isLoading,
        onRetry: () => void status.mutate(),
      }}
      nodes={nodes.data?.items ?? []}
      logs={{ data: logs.data, error: logs.error, isLoading: logs.isLoading, onRetry: () => void logs.mutate() }}
      logQuery={logQuery}
      onLogQuery={setLogQuery}
      onRefreshLogs={() => void logs.mutate()}
      refreshingLogs={logs.isValidating}
      liveLogs={<LiveLogs envId={envId} service={service} />}
      {...(hasPermission(me.data, "exec:write") ? { onTerminal: setTerminalTask } : {})}
      terminal={
        terminalTask ? (
          <TaskTerminal
            key={terminalTask}
            envId={envId}
            service={service}
            taskId={terminalTask}
            onClose={() => setTerminalTask(null)}
          />
        ) : null
      }
    />
  );
}

import { useEffect, useReducer, useRef } from "react";
import useSWR, { type SWRResponse } from "swr";
import useSWRInfinite, { type SWRInfiniteResponse } from "swr/infinite";
import type { ApiError } from "../client.js";
import { useLiveRevalidation, usePollInterval } from "../live/LiveUpdates.js";
import { followDeploymentEvents, type DeploymentEnd, type StreamState } from "../deployment-events.js";
import { actions, keys, type ApiKey } from "../keys.js";
import { searchEnvironmentLogs, type LogSearchQuery, type LogSearchResult } from "../log-search.js";
import {
  isDeploymentActive,
  type Deployment,
  type DeploymentEvent,
  type DeploymentPage,
  type ListOf,
  type PendingApproval,
  type EnvironmentStatus,
  type ScaleResult,
  type ServiceActionResult,
  type ServiceLogs,
} from "../types.js";
import { useApiClient } from "./context.js";
import { useApiMutation, type Mutation } from "./mutation.js";

/**
 * The service page's log view: the last `tail` lines (since `since`, seconds since the epoch), re-read every
 * `pollMs` while the user keeps refreshing on (0: read once). Each read is a fresh snapshot from the agent.
 */
export function useServiceLogLines(
  envId: string,
  service: string,
  query: { tail: number; since?: number },
  pollMs: number,
): SWRResponse<ServiceLogs, ApiError> {
  return useSWR<ServiceLogs, ApiError>(keys.serviceLogs(envId, service, query), {
    revalidateOnFocus: false,
    refreshInterval: pollMs,
  });
}

/** Status of one environment for the service page: refreshed every few seconds while it is open. */
export function useServiceStatus(envId: string): SWRResponse<EnvironmentStatus, ApiError> {
  return useSWR<EnvironmentStatus, ApiError>(keys.environmentStatus(envId), { refreshInterval: ACTIVE_POLL_MS });
}

/** While something runs, lists and status move every few seconds; otherwise they rarely do. */
const ACTIVE_POLL_MS = 3_000;
const IDLE_STATUS_POLL_MS = 15_000;

/** Paged with `before`: page n is fetched with the `nextBefore` of page n-1; null means there is no older page. */
export function useDeployments(envId: string, pageSize: number): SWRInfiniteResponse<DeploymentPage, ApiError> {
  const pages = useSWRInfinite<DeploymentPage, ApiError>(
    (index: number, previous: DeploymentPage | null): ApiKey | null => {
      if (index === 0) return keys.deploymentsPage(envId, pageSize, null);
      if (!previous?.nextBefore) return null;
      return keys.deploymentsPage(envId, pageSize, previous.nextBefore);
    },
    {
      revalidateFirstPage: true,
      refreshInterval: (pages) =>
        pages?.some((p) => p.items.some((d) => isDeploymentActive(d.status))) ? ACTIVE_POLL_MS : 0,
    },
  );
  useLiveRevalidation(keys.deploymentsPage(envId, pageSize, null)[0], () => void pages.mutate());
  return pages;
}

export function useDeployment(deploymentId: string): SWRResponse<Deployment, ApiError> {
  return useSWR<Deployment, ApiError>(keys.deployment(deploymentId), {
    refreshInterval: (d) => (d && isDeploymentActive(d.status) ? ACTIVE_POLL_MS : 0),
  });
}

/** Services as the agent sees them; polled faster while a deployment is moving them. */
export function useEnvironmentStatus(envId: string, busy: boolean): SWRResponse<EnvironmentStatus, ApiError> {
  return useSWR<EnvironmentStatus, ApiError>(keys.environmentStatus(envId), {
    refreshInterval: usePollInterval(busy ? ACTIVE_POLL_MS : IDLE_STATUS_POLL_MS),
  });
}

/** The last lines of a service; fetched once per open (the agent reads them from dockerd), refreshed on demand. */
export function useServiceLogs(envId: string, service: string | null): SWRResponse<ServiceLogs, ApiError> {
  return useSWR<ServiceLogs, ApiError>(service ? keys.serviceLogs(envId, service) : null, {
    revalidateOnFocus: false,
    revalidateIfStale: false,
  });
}

export interface DeployInput {
  releaseId: string;
  /** The same key for a retried request makes the API return the deployment it already created. */
  idempotencyKey: string;
}

export function useDeploy(envId: string): Mutation<DeployInput, Deployment> {
  return useApiMutation(
    keys.environment(envId),
    (client, { releaseId, idempotencyKey }: DeployInput) =>
      client.request<Deployment>("POST", actions.deploy(envId), {
        body: { releaseId },
        headers: { "idempotency-key": idempotencyKey },
      }),
    [keys.environmentStatus(envId)],
  );
}

export function useRollback(envId: string): Mutation<DeployInput, Deployment> {
  return useApiMutation(
    keys.environment(envId),
    (client, { releaseId, idempotencyKey }: DeployInput) =>
      client.request<Deployment>("POST", actions.rollback(envId), {
        body: { releaseId },
        headers: { "idempotency-key": idempotencyKey },
      }),
    [keys.environmentStatus(envId)],
  );
}

export function useCancelDeployment(deploymentId: string): Mutation<void, Deployment> {
  return useApiMutation(keys.deployment(deploymentId), (client) =>
    client.post<Deployment>(actions.cancelDeployment(deploymentId)),
  );
}

/** The org's deployments awaiting approval (the shell's badge and the stack page's list), re-read on live events. */
export function usePendingApprovals(orgId: string, enabled = true): SWRResponse<ListOf<PendingApproval>, ApiError> {
  const key = keys.approvals(orgId);
  const res = useSWR<ListOf<PendingApproval>, ApiError>(enabled ? key : null, {
    refreshInterval: usePollInterval(IDLE_STATUS_POLL_MS),
  });
  return res;
}

export interface ApprovalInput {
  decision: "approve" | "reject";
  comment: string;
}

export function useDecideApproval(orgId: string, deploymentId: string): Mutation<ApprovalInput, Deployment> {
  return useApiMutation(
    keys.deployment(deploymentId),
    (client, body: ApprovalInput) => client.post<Deployment>(actions.decideApproval(deploymentId), body),
    [keys.approvals(orgId)],
  );
}

export interface PromoteInput {
  sourceEnvId: string;
  targetEnvironmentId: string;
  idempotencyKey: string;
}

export function usePromote(orgId: string, stackKey: ApiKey): Mutation<PromoteInput, Deployment> {
  return useApiMutation(
    stackKey,
    (client, { sourceEnvId, targetEnvironmentId, idempotencyKey }: PromoteInput) =>
      client.request<Deployment>("POST", actions.promote(sourceEnvId), {
        body: { targetEnvironmentId },
        headers: { "idempotency-key": idempotencyKey },
      }),
    [keys.approvals(orgId)],
  );
}

export interface ScaleInput {
  service: string;
  replicas: number;
}

export function useScaleService(envId: string): Mutation<ScaleInput, ScaleResult> {
  return useApiMutation(keys.environmentStatus(envId), (client, { service, replicas }: ScaleInput) =>
    client.post<ScaleResult>(actions.scale(envId, service), { replicas }),
  );
}

/** Restart a service or roll it back to its previous Swarm spec; the status refreshes after. */
export function useServiceAction(
  envId: string,
  service: string,
): Mutation<"restart" | "rollback", ServiceActionResult> {
  return useApiMutation(keys.environmentStatus(envId), (client, action: "restart" | "rollback") =>
    client.post<ServiceActionResult>(actions.serviceAction(envId, service), { action }),
  );
}

export interface DeploymentStream {
  events: DeploymentEvent[];
  end: DeploymentEnd | null;
  state: StreamState | "ended" | "failed";
  /** Why the stream failed for good, or why it is reconnecting. */
  error: unknown;
}

type StreamAction =
  | { type: "reset" }
  | { type: "event"; event: DeploymentEvent }
  | { type: "end"; end: DeploymentEnd }
  | { type: "state"; state: StreamState; error?: unknown }
  | { type: "failed"; error: unknown };

const initialStream: DeploymentStream = { events: [], end: null, state: "connecting", error: null };

function streamReducer(s: DeploymentStream, a: StreamAction): DeploymentStream {
  switch (a.type) {
    case "reset":
      return initialStream;
    case "event":
      return { ...s, events: [...s.events, a.event] };
    case "end":
      return { ...s, end: a.end, state: "ended", error: null };
    case "state":
      return { ...s, state: a.state, error: a.error ?? null };
    case "failed":
      return { ...s, state: "failed", error: a.error };
  }
}

/**
 * The events of a deployment, live. Each mount replays the stream from its first event, so a reloaded page shows
 * the whole log and then follows it; within a mount, a dropped connection resumes after the last seq seen.
 * `onEvent` is called for every event as it arrives, `onEnd` once with the final status.
 */
export function useDeploymentEvents(
  deploymentId: string | null,
  callbacks: { onEvent?: (event: DeploymentEvent) => void; onEnd?: (end: DeploymentEnd) => void } = {},
  /** Another stream of the same shape (a build's: actions.buildEvents). */
  path?: string,
): DeploymentStream {
  const client = useApiClient();
  const [stream, dispatch] = useReducer(streamReducer, initialStream);
  const callbacksRef = useRef(callbacks);
  useEffect(() => {
    callbacksRef.current = callbacks;
  });
  useEffect(() => {
    dispatch({ type: "reset" });
    if (!deploymentId) return;
    const controller = new AbortController();
    followDeploymentEvents(
      client,
      deploymentId,
      {
        onEvent: (event) => {
          dispatch({ type: "event", event });
          callbacksRef.current.onEvent?.(event);
        },
        onEnd: (end) => {
          dispatch({ type: "end", end });
          callbacksRef.current.onEnd?.(end);
        },
        onState: (state, error) => dispatch({ type: "state", state, error }),
      },
      { signal: controller.signal, ...(path ? { path } : {}) },
    ).catch((error: unknown) => {
      if (!controller.signal.aborted) dispatch({ type: "failed", error });
    });
    return () => controller.abort();
  }, [client, deploymentId, path]);
  return stream;
}

/** The environment's log search: read once per query (null: nothing searched yet); a new query is a new read. */
export function useEnvironmentLogSearch(
  envId: string,
  query: LogSearchQuery | null,
): SWRResponse<LogSearchResult, ApiError> {
  const client = useApiClient();
  return useSWR<LogSearchResult, ApiError>(
    query ? ["log-search", envId, JSON.stringify(query)] : null,
    () => searchEnvironmentLogs(client, envId, query!),
    { revalidateOnFocus: false, revalidateIfStale: false, shouldRetryOnError: false },
  );
}

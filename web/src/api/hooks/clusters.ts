import useSWR, { type SWRResponse } from "swr";
import useSWRInfinite, { type SWRInfiniteResponse } from "swr/infinite";
import type { ApiError } from "../client.js";
import { actions, keys, type ApiKey } from "../keys.js";
import type {
  Cluster,
  ClusterActivityPage,
  ClusterNode,
  ClusterServices,
  ClusterSecurityWarning,
  CreatedCluster,
  ListOf,
  RegistrationToken,
} from "../types.js";
import { useApiMutation, type Mutation } from "./mutation.js";
import { useLiveRevalidation, usePollInterval } from "../live/LiveUpdates.js";

/**
 * Heartbeats move last-seen (shown as a fact) every few seconds: polled either way; status changes also arrive
 * live. The activity feed and security warnings change only by events, so they poll slowly while live.
 */
const CLUSTER_POLL_MS = 10_000;
/** A deploy moves the activity feed every second or so; its first page is refetched this often. */
const ACTIVITY_POLL_MS = 5_000;

export function useClusters(orgId: string): SWRResponse<ListOf<Cluster>, ApiError> {
  return useSWR<ListOf<Cluster>, ApiError>(keys.clusters(orgId), { refreshInterval: CLUSTER_POLL_MS });
}

export function useCluster(orgId: string, clusterId: string): SWRResponse<Cluster, ApiError> {
  return useSWR<Cluster, ApiError>(keys.cluster(orgId, clusterId), { refreshInterval: CLUSTER_POLL_MS });
}

export function useClusterNodes(orgId: string, clusterId: string): SWRResponse<ListOf<ClusterNode>, ApiError> {
  return useSWR<ListOf<ClusterNode>, ApiError>(clusterId ? keys.clusterNodes(orgId, clusterId) : null, {
    refreshInterval: CLUSTER_POLL_MS,
  });
}

/** Paged with `before`: page n is fetched with the `nextBefore` of page n-1; only the newest page is refreshed. */
export function useClusterActivity(
  orgId: string,
  clusterId: string,
  pageSize: number,
): SWRInfiniteResponse<ClusterActivityPage, ApiError> {
  const pages = useSWRInfinite<ClusterActivityPage, ApiError>(
    (index: number, previous: ClusterActivityPage | null): ApiKey | null => {
      if (index === 0) return keys.clusterActivityPage(orgId, clusterId, pageSize, null);
      if (!previous?.nextBefore) return null;
      return keys.clusterActivityPage(orgId, clusterId, pageSize, previous.nextBefore);
    },
    { revalidateFirstPage: true, revalidateAll: false, refreshInterval: usePollInterval(ACTIVITY_POLL_MS) },
  );
  // Only the newest page changes: revalidateAll is off, so this refetches it alone.
  useLiveRevalidation(keys.clusterActivityPage(orgId, clusterId, pageSize, null)[0], () => void pages.mutate());
  return pages;
}

export function useClusterSecurityWarnings(
  orgId: string,
  clusterId: string,
): SWRResponse<ListOf<ClusterSecurityWarning>, ApiError> {
  return useSWR<ListOf<ClusterSecurityWarning>, ApiError>(keys.clusterSecurityWarnings(orgId, clusterId), {
    refreshInterval: usePollInterval(CLUSTER_POLL_MS),
  });
}

/** A change of one Swarm node (availability and/or its whole label set), carried out by the agent. */
export interface NodeChange {
  nodeId: string;
  availability?: ClusterNode["availability"];
  labels?: Record<string, string>;
}

export function useUpdateClusterNode(orgId: string, clusterId: string): Mutation<NodeChange, ClusterNode> {
  return useApiMutation(
    keys.clusterNodes(orgId, clusterId),
    (client, { nodeId, ...change }: NodeChange) =>
      client.patch<ClusterNode>(actions.clusterNode(orgId, clusterId, nodeId), change),
    [keys.cluster(orgId, clusterId)],
  );
}

export function useAcknowledgeSecurityWarning(
  orgId: string,
  clusterId: string,
): Mutation<{ warningId: string }, ClusterSecurityWarning> {
  return useApiMutation(
    keys.clusterSecurityWarnings(orgId, clusterId),
    (client, arg: { warningId: string }) =>
      client.post<ClusterSecurityWarning>(actions.acknowledgeSecurityWarning(orgId, clusterId, arg.warningId)),
    [keys.cluster(orgId, clusterId), keys.clusters(orgId)],
  );
}

export function useCreateCluster(orgId: string): Mutation<{ name: string }, CreatedCluster> {
  return useApiMutation(keys.clusters(orgId), (client, arg: { name: string }) =>
    client.post<CreatedCluster>(keys.clusters(orgId)[0], arg),
  );
}

export function useIssueRegistrationToken(orgId: string, clusterId: string): Mutation<void, RegistrationToken> {
  return useApiMutation(keys.cluster(orgId, clusterId), (client) =>
    client.post<RegistrationToken>(actions.registrationToken(orgId, clusterId)),
  );
}

export function useRevokeCluster(orgId: string, clusterId: string): Mutation<void, Cluster> {
  return useApiMutation(
    keys.cluster(orgId, clusterId),
    (client) => client.post<Cluster>(actions.revokeCluster(orgId, clusterId)),
    [keys.clusters(orgId)],
  );
}

export function useDeleteCluster(orgId: string, clusterId: string): Mutation<void, Cluster> {
  return useApiMutation(keys.clusters(orgId), (client) => client.delete<Cluster>(keys.cluster(orgId, clusterId)[0]));
}

/** The cluster's Swarm services from the agent's last inventory; refreshed like the nodes. */
export function useClusterServices(orgId: string, clusterId: string): SWRResponse<ClusterServices, ApiError> {
  return useSWR<ClusterServices, ApiError>(keys.clusterServices(orgId, clusterId), {
    refreshInterval: CLUSTER_POLL_MS,
  });
}

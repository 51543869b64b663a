import useSWR, { type SWRResponse } from "swr";
import type { ApiError } from "../client.js";
import { actions, keys } from "../keys.js";
import type { Cluster, ClusterNode, CreatedCluster, ListOf, RegistrationToken } from "../types.js";
import { useApiMutation, type Mutation } from "./mutation.js";

/** Heartbeats move status and last-seen every few seconds; poll until the live event stream exists. */
const CLUSTER_POLL_MS = 10_000;

export function useClusters(orgId: string): SWRResponse<ListOf<Cluster>, ApiError> {
  return useSWR<ListOf<Cluster>, ApiError>(keys.clusters(orgId), { refreshInterval: CLUSTER_POLL_MS });
}

export function useCluster(orgId: string, clusterId: string): SWRResponse<Cluster, ApiError> {
  return useSWR<Cluster, ApiError>(keys.cluster(orgId, clusterId), { refreshInterval: CLUSTER_POLL_MS });
}

export function useClusterNodes(orgId: string, clusterId: string): SWRResponse<ListOf<ClusterNode>, ApiError> {
  return useSWR<ListOf<ClusterNode>, ApiError>(keys.clusterNodes(orgId, clusterId), {
    refreshInterval: CLUSTER_POLL_MS,
  });
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

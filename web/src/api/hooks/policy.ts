import useSWR, { type SWRResponse } from "swr";
import type { ApiError } from "../client.js";
import { keys } from "../keys.js";
import type { ClusterComposePolicy, ComposePolicy, ComposePolicyInput, ComposePolicyOverrideInput } from "../types.js";
import { useApiMutation, type Mutation } from "./mutation.js";

export function useComposePolicy(orgId: string): SWRResponse<ComposePolicy, ApiError> {
  return useSWR<ComposePolicy, ApiError>(keys.composePolicy(orgId));
}

/** Saving the org policy changes every cluster's effective policy: their overrides are refetched too. */
export function usePutComposePolicy(orgId: string): Mutation<ComposePolicyInput, ComposePolicy> {
  return useApiMutation(keys.composePolicy(orgId), (client, arg: ComposePolicyInput) =>
    client.put<ComposePolicy>(keys.composePolicy(orgId)[0], arg),
  );
}

export function useClusterComposePolicy(orgId: string, clusterId: string): SWRResponse<ClusterComposePolicy, ApiError> {
  return useSWR<ClusterComposePolicy, ApiError>(keys.clusterComposePolicy(orgId, clusterId));
}

export function usePutClusterComposePolicy(
  orgId: string,
  clusterId: string,
): Mutation<ComposePolicyOverrideInput, ClusterComposePolicy> {
  return useApiMutation(keys.clusterComposePolicy(orgId, clusterId), (client, arg: ComposePolicyOverrideInput) =>
    client.put<ClusterComposePolicy>(keys.clusterComposePolicy(orgId, clusterId)[0], arg),
  );
}

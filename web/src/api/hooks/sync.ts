/** Git auto-sync: an environment's source and its pin. */
import useSWR, { type SWRResponse } from "swr";
import type { ApiError } from "../client.js";
import { actions, keys } from "../keys.js";
import type { Environment, SyncSource } from "../types.js";
import { useApiMutation, type Mutation } from "./mutation.js";

export function useSyncSource(sourceId: string | null): SWRResponse<SyncSource, ApiError> {
  return useSWR<SyncSource, ApiError>(sourceId ? keys.syncSource(sourceId) : null);
}

export function usePinEnvironment(envId: string): Mutation<string, Environment> {
  return useApiMutation(keys.environment(envId), (client, reason: string) =>
    client.put<Environment>(actions.environmentPin(envId), { reason }),
  );
}

export function useUnpinEnvironment(envId: string): Mutation<void, { deploymentIds: string[] }> {
  return useApiMutation(keys.environment(envId), (client) =>
    client.delete<{ deploymentIds: string[] }>(actions.environmentPin(envId)),
  );
}

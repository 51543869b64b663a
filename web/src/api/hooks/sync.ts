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

export interface SetUpAutoSyncInput {
  repoUrl: string;
  ref: string;
  path: string;
  pollIntervalSeconds: number;
}

/** Creates a source on the stack and makes the environment follow it; returns the source (its secret, once). */
export function useSetUpAutoSync(
  stackId: string | null,
  envId: string,
): Mutation<SetUpAutoSyncInput, SyncSource & { webhookSecret: string }> {
  return useApiMutation(keys.environment(envId), async (client, input: SetUpAutoSyncInput) => {
    const source = await client.post<SyncSource & { webhookSecret: string }>(actions.syncSources(stackId ?? ""), input);
    await client.put<Environment>(actions.environmentSync(envId), { mode: "automatic", sourceId: source.id });
    return source;
  });
}

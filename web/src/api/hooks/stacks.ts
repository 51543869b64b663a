import useSWR, { type SWRResponse } from "swr";
import type { ApiError } from "../client.js";
import { actions, keys } from "../keys.js";
import type {
  DeletedEnvironment,
  Environment,
  EnvironmentDetail,
  EnvironmentDiff,
  EnvOverlay,
  FailurePolicy,
  ImageResolution,
  ApprovalPolicy,
  ListOf,
  Overlay,
  Release,
  ReleaseBuild,
  ReleaseSummary,
  Secret,
  SecretWritten,
  Stack,
  StackDetail,
  StackOverview,
} from "../types.js";
import { useApiMutation, type Mutation } from "./mutation.js";

/** The stacks list's health comes from inventories, which agents resend on change: a page left open follows. */
const STACKS_REFRESH_MS = 10_000;

/** Each stack with its environments' health, release and last deployment; refreshed while the page is open. */
export function useStacks(orgId: string): SWRResponse<ListOf<StackOverview>, ApiError> {
  return useSWR<ListOf<StackOverview>, ApiError>(keys.stacks(orgId), { refreshInterval: STACKS_REFRESH_MS });
}

/** An empty stackId (not known yet) fetches nothing. */
export function useStack(orgId: string, stackId: string): SWRResponse<StackDetail, ApiError> {
  return useSWR<StackDetail, ApiError>(stackId ? keys.stack(orgId, stackId) : null);
}

export function useReleases(stackId: string | null): SWRResponse<ListOf<ReleaseSummary>, ApiError> {
  return useSWR<ListOf<ReleaseSummary>, ApiError>(stackId ? keys.releases(stackId) : null);
}

export function useRelease(releaseId: string): SWRResponse<Release, ApiError> {
  return useSWR<Release, ApiError>(keys.release(releaseId), { revalidateIfStale: false });
}

/** A release's build; null fetches nothing (a release that was not built from source). */
export function useReleaseBuild(buildId: string | null): SWRResponse<ReleaseBuild, ApiError> {
  return useSWR<ReleaseBuild, ApiError>(buildId ? keys.build(buildId) : null);
}

export function useCancelBuild(buildId: string): Mutation<void, ReleaseBuild> {
  return useApiMutation(keys.build(buildId), (client) => client.post<ReleaseBuild>(actions.cancelBuild(buildId)));
}

/** Null fetches nothing (for callers that learn the id from another answer). */
export function useEnvironment(envId: string | null): SWRResponse<EnvironmentDetail, ApiError> {
  return useSWR<EnvironmentDetail, ApiError>(envId ? keys.environment(envId) : null);
}

export function useOverlay(envId: string): SWRResponse<Overlay, ApiError> {
  return useSWR<Overlay, ApiError>(keys.overlay(envId));
}

export function useSecrets(envId: string): SWRResponse<ListOf<Secret>, ApiError> {
  return useSWR<ListOf<Secret>, ApiError>(keys.secrets(envId));
}

/** `from` is "current" or a release id; nothing is fetched until `to` (a release id) is known. */
export function useDiff(envId: string, from: string, to: string | null): SWRResponse<EnvironmentDiff, ApiError> {
  return useSWR<EnvironmentDiff, ApiError>(to ? keys.diff(envId, from, to) : null);
}

export function useCreateStack(orgId: string): Mutation<{ name: string; description?: string }, Stack> {
  return useApiMutation(keys.stacks(orgId), (client, arg: { name: string; description?: string }) =>
    client.post<Stack>(keys.stacks(orgId)[0], arg),
  );
}

export interface CreateEnvironmentInput {
  name: string;
  clusterId: string;
  deployTimeoutSeconds?: number;
  /** The Swarm stack to deploy into; the server's default is `<stack>-<environment>`. */
  swarmStack?: string;
}

export function useCreateEnvironment(orgId: string, stackId: string): Mutation<CreateEnvironmentInput, Environment> {
  return useApiMutation(
    keys.stack(orgId, stackId),
    (client, arg: CreateEnvironmentInput) => client.post<Environment>(keys.environments(stackId)[0], arg),
    [keys.environments(stackId)],
  );
}

export function useUploadRelease(
  orgId: string,
  stackId: string,
): Mutation<{ composeYaml: string; sourceRef?: string; manifestYaml?: string }, Release> {
  return useApiMutation(
    keys.releases(stackId),
    (client, arg: { composeYaml: string; sourceRef?: string; manifestYaml?: string }) =>
      client.post<Release>(actions.createRelease(stackId), { sourceType: "upload", ...arg }),
    [keys.stack(orgId, stackId)],
  );
}

export interface GitReleaseInput {
  repoUrl: string;
  ref: string;
  path: string;
  credentialId?: string;
}

export function useGitRelease(orgId: string, stackId: string): Mutation<GitReleaseInput, Release> {
  return useApiMutation(
    keys.releases(stackId),
    (client, git: GitReleaseInput) => client.post<Release>(actions.createRelease(stackId), { sourceType: "git", git }),
    // A first fetch over SSH trusts the host's key (TOFU): the credential's known hosts changed with it.
    [keys.stack(orgId, stackId), keys.gitCredentials(orgId)],
  );
}

export function usePutOverlay(envId: string): Mutation<{ envJson: EnvOverlay; composePatchYaml: string }, Overlay> {
  return useApiMutation(keys.overlay(envId), (client, arg: { envJson: EnvOverlay; composePatchYaml: string }) =>
    client.put<Overlay>(keys.overlay(envId)[0], arg),
  );
}

export interface PutSecretInput {
  name: string;
  value: string;
  services: string[];
}

export function usePutSecret(envId: string): Mutation<PutSecretInput, SecretWritten> {
  return useApiMutation(keys.secrets(envId), (client, { name, value, services }: PutSecretInput) =>
    client.put<SecretWritten>(actions.secret(envId, name), { value, services }),
  );
}

export function useDeleteSecret(envId: string): Mutation<string, Secret> {
  return useApiMutation(keys.secrets(envId), (client, name: string) =>
    client.delete<Secret>(actions.secret(envId, name)),
  );
}

export function useUpdateStack(
  orgId: string,
  stackId: string,
): Mutation<{ name?: string; description?: string }, Stack> {
  return useApiMutation(
    keys.stack(orgId, stackId),
    (client, arg: { name?: string; description?: string }) => client.patch<Stack>(keys.stack(orgId, stackId)[0], arg),
    [keys.stacks(orgId)],
  );
}

/** Revalidates the list only: the stack's own key would answer 404 once it is gone. */
export function useDeleteStack(orgId: string, stackId: string): Mutation<void, Stack> {
  return useApiMutation(keys.stacks(orgId), (client) => client.delete<Stack>(keys.stack(orgId, stackId)[0]));
}

export interface EnvironmentChanges {
  name?: string;
  deployTimeoutSeconds?: number;
  onFailure?: FailurePolicy;
  imageResolution?: ImageResolution;
  /** Moves the environment to another cluster of the org (only while nothing of it is deployed). */
  clusterId?: string;
  pipelinePosition?: number | null;
  approval?: ApprovalPolicy;
}

export function useUpdateEnvironment(
  orgId: string,
  envId: string,
  stackId: string | undefined,
): Mutation<EnvironmentChanges, Environment> {
  return useApiMutation(
    keys.environment(envId),
    (client, arg: EnvironmentChanges) => client.patch<Environment>(keys.environment(envId)[0], arg),
    stackId ? [keys.stack(orgId, stackId)] : [],
  );
}

export function useDeleteEnvironment(
  orgId: string,
  envId: string,
  stackId: string | undefined,
): Mutation<{ keepRunning: boolean }, DeletedEnvironment> {
  return useApiMutation(
    stackId ? keys.stack(orgId, stackId) : keys.stacks(orgId),
    (client, arg: { keepRunning: boolean }) =>
      client.delete<DeletedEnvironment>(
        keys.environment(envId)[0],
        arg.keepRunning ? { keepRunning: "true" } : undefined,
      ),
  );
}

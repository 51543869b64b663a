import useSWR, { type SWRResponse } from "swr";
import type { ApiError } from "../client.js";
import { actions, keys } from "../keys.js";
import type { GitCredential, ListOf } from "../types.js";
import { useApiMutation, type Mutation } from "./mutation.js";

export type CreateGitCredentialInput =
  { name: string; type: "ssh" } | { name: string; type: "https"; username?: string; token: string };

export interface AddHostKeysInput {
  credentialId: string;
  host: string;
  port?: number;
  /** Pasted keys; without them the control plane fetches the host's keys now (trust on first use). */
  publicKeys?: string;
}

/** `null` reads nothing (a dialog that is closed). */
export function useGitCredentials(orgId: string | null): SWRResponse<ListOf<GitCredential>, ApiError> {
  return useSWR<ListOf<GitCredential>, ApiError>(orgId === null ? null : keys.gitCredentials(orgId));
}

export function useCreateGitCredential(orgId: string): Mutation<CreateGitCredentialInput, GitCredential> {
  return useApiMutation(keys.gitCredentials(orgId), (client, arg: CreateGitCredentialInput) =>
    client.post<GitCredential>(keys.gitCredentials(orgId)[0], arg),
  );
}

export function useDeleteGitCredential(orgId: string): Mutation<string, GitCredential> {
  return useApiMutation(keys.gitCredentials(orgId), (client, credentialId: string) =>
    client.delete<GitCredential>(actions.gitCredential(orgId, credentialId)),
  );
}

export function useAddHostKeys(orgId: string): Mutation<AddHostKeysInput, GitCredential> {
  return useApiMutation(keys.gitCredentials(orgId), (client, { credentialId, ...body }: AddHostKeysInput) =>
    client.post<GitCredential>(actions.gitCredentialHostKeys(orgId, credentialId), body),
  );
}

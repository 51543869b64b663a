import useSWR, { type SWRResponse } from "swr";
import type { ApiError } from "../client.js";
import { keys } from "../keys.js";
import type { ListOf, RegistryCredential } from "../types.js";
import { useApiMutation, type Mutation } from "./mutation.js";

export interface CreateRegistryCredentialInput {
  name: string;
  registry: string;
  username: string;
  password: string;
}
export interface UpdateRegistryCredentialInput {
  id: string;
  username?: string;
  password?: string;
}

export function useRegistryCredentials(orgId: string): SWRResponse<ListOf<RegistryCredential>, ApiError> {
  return useSWR<ListOf<RegistryCredential>, ApiError>(keys.registryCredentials(orgId));
}

export function useCreateRegistryCredential(
  orgId: string,
): Mutation<CreateRegistryCredentialInput, RegistryCredential> {
  return useApiMutation(keys.registryCredentials(orgId), (client, arg: CreateRegistryCredentialInput) =>
    client.post<RegistryCredential>(keys.registryCredentials(orgId)[0], arg),
  );
}

export function useUpdateRegistryCredential(
  orgId: string,
): Mutation<UpdateRegistryCredentialInput, RegistryCredential> {
  return useApiMutation(keys.registryCredentials(orgId), (client, { id, ...body }: UpdateRegistryCredentialInput) =>
    client.patch<RegistryCredential>(keys.registryCredential(orgId, id)[0], body),
  );
}

export function useDeleteRegistryCredential(orgId: string): Mutation<string, RegistryCredential> {
  return useApiMutation(keys.registryCredentials(orgId), (client, id: string) =>
    client.delete<RegistryCredential>(keys.registryCredential(orgId, id)[0]),
  );
}

export function useEnvironmentRegistryCredentials(envId: string): SWRResponse<ListOf<RegistryCredential>, ApiError> {
  return useSWR<ListOf<RegistryCredential>, ApiError>(keys.environmentRegistryCredentials(envId));
}

const attached = (envId: string, id: string) =>
  `${keys.environmentRegistryCredentials(envId)[0]}/${encodeURIComponent(id)}`;

export function useAttachRegistryCredential(envId: string): Mutation<string, RegistryCredential> {
  return useApiMutation(keys.environmentRegistryCredentials(envId), (client, id: string) =>
    client.put<RegistryCredential>(attached(envId, id)),
  );
}

export function useDetachRegistryCredential(envId: string): Mutation<string, RegistryCredential> {
  return useApiMutation(keys.environmentRegistryCredentials(envId), (client, id: string) =>
    client.delete<RegistryCredential>(attached(envId, id)),
  );
}

import useSWR, { type SWRResponse } from "swr";
import type { ApiError } from "../client.js";
import { keys } from "../keys.js";
import type { CreatedIntegrationCredential, IntegrationCredential, ListOf } from "../types.js";
import { useApiMutation, type Mutation } from "./mutation.js";

export interface CreateIntegrationCredentialInput {
  name: string;
  expiresAt: string | null;
}

export function useIntegrationCredentials(orgId: string): SWRResponse<ListOf<IntegrationCredential>, ApiError> {
  return useSWR<ListOf<IntegrationCredential>, ApiError>(keys.integrationCredentials(orgId));
}

export function useCreateIntegrationCredential(
  orgId: string,
): Mutation<CreateIntegrationCredentialInput, CreatedIntegrationCredential> {
  return useApiMutation(keys.integrationCredentials(orgId), (client, arg: CreateIntegrationCredentialInput) =>
    client.post<CreatedIntegrationCredential>(keys.integrationCredentials(orgId)[0], arg),
  );
}

export function useRevokeIntegrationCredential(orgId: string): Mutation<string, IntegrationCredential> {
  return useApiMutation(keys.integrationCredentials(orgId), (client, id: string) =>
    client.delete<IntegrationCredential>(keys.integrationCredential(orgId, id)[0]),
  );
}

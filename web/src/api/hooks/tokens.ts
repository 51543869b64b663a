import useSWR, { type SWRResponse } from "swr";
import type { ApiError } from "../client.js";
import { keys } from "../keys.js";
import type { ApiToken, CreatedApiToken, ListOf, Permission } from "../types.js";
import { useApiMutation, type Mutation } from "./mutation.js";

export interface CreateTokenInput {
  name: string;
  scopes: Permission[];
  expiresAt: string | null;
}

export function useTokens(orgId: string): SWRResponse<ListOf<ApiToken>, ApiError> {
  return useSWR<ListOf<ApiToken>, ApiError>(keys.tokens(orgId));
}

export function useCreateToken(orgId: string): Mutation<CreateTokenInput, CreatedApiToken> {
  return useApiMutation(keys.tokens(orgId), (client, arg: CreateTokenInput) =>
    client.post<CreatedApiToken>(keys.tokens(orgId)[0], arg),
  );
}

export function useRevokeToken(orgId: string): Mutation<string, ApiToken> {
  return useApiMutation(keys.tokens(orgId), (client, tokenId: string) =>
    client.delete<ApiToken>(keys.token(orgId, tokenId)[0]),
  );
}

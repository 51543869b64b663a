import useSWR, { type SWRResponse } from "swr";
import type { ApiError } from "../client.js";
import { keys } from "../keys.js";
import type { ListOf, Role, User } from "../types.js";
import { useApiMutation, type Mutation } from "./mutation.js";

export interface CreateUserInput {
  email: string;
  password: string;
  role: Role;
}

/** `enabled: false` skips the request (for callers that only want names when the caller may list users). */
export function useUsers(orgId: string, enabled = true): SWRResponse<ListOf<User>, ApiError> {
  return useSWR<ListOf<User>, ApiError>(enabled ? keys.users(orgId) : null);
}

export function useCreateUser(orgId: string): Mutation<CreateUserInput, User> {
  return useApiMutation(keys.users(orgId), (client, arg: CreateUserInput) =>
    client.post<User>(keys.users(orgId)[0], arg),
  );
}

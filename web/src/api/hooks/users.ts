import useSWR, { type SWRResponse } from "swr";
import type { ApiError } from "../client.js";
import { actions, keys } from "../keys.js";
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

export function useUpdateUserRole(orgId: string): Mutation<{ userId: string; role: Role }, User> {
  return useApiMutation(keys.users(orgId), (client, arg: { userId: string; role: Role }) =>
    client.patch<User>(actions.user(orgId, arg.userId), { role: arg.role }),
  );
}

export function useDeleteUser(orgId: string): Mutation<string, User> {
  return useApiMutation(keys.users(orgId), (client, userId: string) =>
    client.delete<User>(actions.user(orgId, userId)),
  );
}

export interface ChangePasswordInput {
  currentPassword: string;
  newPassword: string;
}

export function useChangePassword(): Mutation<ChangePasswordInput, { sessionsRevoked: number }> {
  return useApiMutation(keys.me(), (client, arg: ChangePasswordInput) =>
    client.post<{ sessionsRevoked: number }>(actions.changePassword(), arg),
  );
}

import useSWR, { useSWRConfig, type SWRResponse } from "swr";
import { useCallback } from "react";
import type { ApiError } from "../client.js";
import { keys } from "../keys.js";
import type { EnrolledLoginResult, LoginResult, Me, MfaEnrollment, Permission } from "../types.js";
import { useApiClient } from "./context.js";

export function useMe(): SWRResponse<Me, ApiError> {
  return useSWR<Me, ApiError>(keys.me());
}

export function hasPermission(me: Me | undefined, permission: Permission): boolean {
  return me?.permissions.includes(permission) ?? false;
}

/** Drops every cached answer: after a login or logout nothing of the previous session may be shown. */
export function useClearCache(): () => Promise<void> {
  const { mutate } = useSWRConfig();
  return useCallback(async () => {
    await mutate(() => true, undefined, { revalidate: false });
  }, [mutate]);
}

export function useLogin(): (input: { email: string; password: string; orgId?: string }) => Promise<LoginResult> {
  const client = useApiClient();
  const clear = useClearCache();
  return useCallback(
    async (input) => {
      const result = await client.login(input);
      await clear();
      return result;
    },
    [client, clear],
  );
}

/** The login's second step (a code), and the enrolment an org's policy forces inside a login. */
export function useLoginSteps(): {
  withCode: (input: { challengeToken: string; code: string }) => Promise<LoginResult>;
  startEnrollment: (challengeToken: string) => Promise<MfaEnrollment>;
  confirmEnrollment: (input: { challengeToken: string; code: string }) => Promise<EnrolledLoginResult>;
} {
  const client = useApiClient();
  const clear = useClearCache();
  return {
    withCode: useCallback(
      async (input) => {
        const result = await client.loginWithCode(input);
        await clear();
        return result;
      },
      [client, clear],
    ),
    startEnrollment: useCallback((token) => client.startLoginEnrollment(token), [client]),
    confirmEnrollment: useCallback(
      async (input) => {
        const result = await client.confirmLoginEnrollment(input);
        await clear();
        return result;
      },
      [client, clear],
    ),
  };
}

export function useLogout(): () => Promise<void> {
  const client = useApiClient();
  const clear = useClearCache();
  return useCallback(async () => {
    await client.logout();
    await clear();
  }, [client, clear]);
}

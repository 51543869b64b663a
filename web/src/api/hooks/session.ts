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

/**
 * Drops every cached answer: after a login or logout nothing of the previous session may be shown.
 * After a login (`forNewSession`) it also drops SWR's in-flight markers: without that, a page mounted within the
 * dedupe interval of the previous session's request waits on that request, whose answer SWR then discards as
 * older than this clearing, and shows "Loading…" forever (seen when logging out and in again within 2 s).
 */
export function useClearCache(forNewSession = false): () => Promise<void> {
  const { mutate } = useSWRConfig();
  return useCallback(async () => {
    await mutate(() => true, undefined, { revalidate: forNewSession });
  }, [mutate, forNewSession]);
}

export function useLogin(): (input: { email: string; password: string; orgId?: string }) => Promise<LoginResult> {
  const client = useApiClient();
  const clear = useClearCache(true);
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
  const clear = useClearCache(true);
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

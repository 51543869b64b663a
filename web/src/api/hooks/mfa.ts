import useSWR, { type SWRResponse } from "swr";
import type { ApiError } from "../client.js";
import { actions, keys } from "../keys.js";
import type { MfaEnrollment, MfaPolicy, MfaRequiredFor, MfaStatus, RecoveryCodes } from "../types.js";
import { useApiMutation, type Mutation } from "./mutation.js";

/** The signed-in user's own MFA state. */
export function useMfaStatus(): SWRResponse<MfaStatus, ApiError> {
  return useSWR<MfaStatus, ApiError>(keys.mfa());
}

export function useStartMfaEnrollment(): Mutation<void, MfaEnrollment> {
  return useApiMutation(keys.mfa(), (client) => client.post<MfaEnrollment>(actions.mfaEnrollment()));
}

export function useConfirmMfaEnrollment(): Mutation<string, { recoveryCodes: RecoveryCodes }> {
  return useApiMutation(keys.mfa(), (client, code: string) =>
    client.post<{ recoveryCodes: RecoveryCodes }>(actions.confirmMfaEnrollment(), { code }),
  );
}

export function useRegenerateRecoveryCodes(): Mutation<string, { recoveryCodes: RecoveryCodes }> {
  return useApiMutation(keys.mfa(), (client, code: string) =>
    client.post<{ recoveryCodes: RecoveryCodes }>(actions.mfaRecoveryCodes(), { code }),
  );
}

export function useDisableMfa(): Mutation<string, MfaStatus> {
  return useApiMutation(keys.mfa(), (client, code: string) => client.post<MfaStatus>(actions.disableMfa(), { code }));
}

export function useMfaPolicy(orgId: string, enabled = true): SWRResponse<MfaPolicy, ApiError> {
  return useSWR<MfaPolicy, ApiError>(enabled ? keys.mfaPolicy(orgId) : null);
}

export function useUpdateMfaPolicy(orgId: string): Mutation<MfaRequiredFor, MfaPolicy> {
  return useApiMutation(
    keys.mfaPolicy(orgId),
    (client, requiredFor: MfaRequiredFor) => client.put<MfaPolicy>(keys.mfaPolicy(orgId)[0], { requiredFor }),
    [keys.users(orgId)],
  );
}

export function useResetUserMfa(
  orgId: string,
): Mutation<string, { userId: string; mfaEnabled: false; sessionsRevoked: number }> {
  return useApiMutation(
    keys.users(orgId),
    (client, userId: string) =>
      client.delete<{ userId: string; mfaEnabled: false; sessionsRevoked: number }>(
        actions.resetUserMfa(orgId, userId),
      ),
    [keys.mfaPolicy(orgId)],
  );
}

/** The org's MFA policy on the users page: who must have a second factor, and who has yet to set one up. */
import { useMfaPolicy, useUpdateMfaPolicy } from "../../api/hooks/mfa.js";
import type { MfaPolicy, MfaRequiredFor } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";

export const MFA_POLICY_CHOICES: ReadonlyArray<{ id: MfaRequiredFor; label: string }> = [
  { id: "none", label: "Not required" },
  { id: "admins", label: "Required for ORG_ADMINs" },
  { id: "all", label: "Required for every user" },
];

export function MfaPolicyPanel(props: { orgId: string; canWrite: boolean }) {
  const policy = useMfaPolicy(props.orgId);
  const update = useUpdateMfaPolicy(props.orgId);
  return (
    <MfaPolicyView
      state={{
        data: policy.data,
        error: policy.error,
        isLoading: policy.isLoading,
        onRetry: () => void policy.mutate(),
      }}
      canWrite={props.canWrite}
      busy={update.isMutating}
      error={update.error}
      onChange={(requiredFor) => {
        update.reset();
        void update.trigger(requiredFor);
      }}
    />
  );
}

export function MfaPolicyView(props: {
  state: AsyncState<MfaPolicy>;
  canWrite: boolean;
  busy: boolean;
  error: unknown;
  onChange: (requiredFor: MfaRequiredFor) => void;
}) {
  return (
    <section className="card" aria-label="MFA policy">
      <h2>MFA policy</h2>
      <AsyncContent state={props.state} loadingLabel="Loading the MFA policy…">
        {(policy) => (
          <>
            <label>
              Two-factor authentication
              <select
                aria-label="MFA required for"
                value={policy.requiredFor}
                disabled={!props.canWrite || props.busy}
                onChange={(e) => props.onChange(e.target.value as MfaRequiredFor)}
              >
                {MFA_POLICY_CHOICES.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.label}
                  </option>
                ))}
              </select>
            </label>
            <p className="muted small">
              {policy.requiredFor === "none"
                ? "Each user decides on their account page."
                : `${policy.coveredUsers} user(s) covered; ${policy.coveredUsersWithoutMfa} must set MFA up at their next login (their sessions were ended) before they can do anything else.`}{" "}
              API tokens are not affected.
            </p>
            {props.error ? <ErrorNotice error={props.error} compact /> : null}
          </>
        )}
      </AsyncContent>
    </section>
  );
}

/** The account page's MFA card: set it up, see what is left, new recovery codes, turn it off. */
import { useState, type FormEvent } from "react";
import {
  useConfirmMfaEnrollment,
  useDisableMfa,
  useMfaStatus,
  useRegenerateRecoveryCodes,
  useStartMfaEnrollment,
} from "../../api/hooks/mfa.js";
import type { MfaEnrollment, MfaStatus } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { CodeField, MfaEnrollmentForm, RecoveryCodesNotice } from "../../components/Mfa.js";
import { RelativeTime } from "../../components/RelativeTime.js";

export function MfaSection() {
  const status = useMfaStatus();
  const start = useStartMfaEnrollment();
  const confirm = useConfirmMfaEnrollment();
  const regenerate = useRegenerateRecoveryCodes();
  const disable = useDisableMfa();
  const [enrollment, setEnrollment] = useState<MfaEnrollment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const reset = () => {
    for (const m of [start, confirm, regenerate, disable]) m.reset();
  };
  return (
    <MfaSectionView
      state={{
        data: status.data,
        error: status.error,
        isLoading: status.isLoading,
        onRetry: () => void status.mutate(),
      }}
      enrollment={enrollment}
      recoveryCodes={codes}
      busy={start.isMutating || confirm.isMutating || regenerate.isMutating || disable.isMutating}
      error={start.error ?? confirm.error ?? regenerate.error ?? disable.error}
      onStart={() => {
        reset();
        void start.trigger().then((e) => e && setEnrollment(e));
      }}
      onCancelEnrollment={() => {
        reset();
        setEnrollment(null);
      }}
      onConfirm={(code) =>
        void confirm.trigger(code).then((r) => {
          if (!r) return;
          setEnrollment(null);
          setCodes(r.recoveryCodes);
        })
      }
      onRegenerate={(code) => {
        reset();
        void regenerate.trigger(code).then((r) => r && setCodes(r.recoveryCodes));
      }}
      onDisable={(code) => {
        reset();
        void disable.trigger(code);
      }}
      onCodesSaved={() => setCodes(null)}
    />
  );
}

export function MfaSectionView(props: {
  state: AsyncState<MfaStatus>;
  enrollment: MfaEnrollment | null;
  /** New recovery codes to show this once; null when there are none to show. */
  recoveryCodes: readonly string[] | null;
  busy: boolean;
  error: unknown;
  onStart: () => void;
  onCancelEnrollment: () => void;
  onConfirm: (code: string) => void;
  onRegenerate: (code: string) => void;
  onDisable: (code: string) => void;
  onCodesSaved: () => void;
}) {
  return (
    <section className="card" aria-label="Two-factor authentication">
      <h2>Two-factor authentication (MFA)</h2>
      <AsyncContent state={props.state} loadingLabel="Loading MFA state…">
        {(status) => {
          if (props.recoveryCodes) {
            return (
              <RecoveryCodesNotice codes={props.recoveryCodes} doneLabel="I saved them" onDone={props.onCodesSaved} />
            );
          }
          if (props.enrollment) {
            return (
              <MfaEnrollmentForm
                enrollment={props.enrollment}
                busy={props.busy}
                error={props.error}
                onConfirm={props.onConfirm}
                onCancel={props.onCancelEnrollment}
              />
            );
          }
          if (!status.enabled) {
            return (
              <>
                <p>
                  MFA is <strong>off</strong>.{" "}
                  {status.requiredByOrg
                    ? "Your organization requires it: set it up now."
                    : "Logging in asks only for your password."}
                </p>
                {props.error ? <ErrorNotice error={props.error} compact /> : null}
                <div className="actions">
                  <button type="button" onClick={props.onStart} disabled={props.busy}>
                    Set up MFA
                  </button>
                </div>
              </>
            );
          }
          return <MfaOn status={status} {...props} />;
        }}
      </AsyncContent>
    </section>
  );
}

function MfaOn(props: {
  status: MfaStatus;
  busy: boolean;
  error: unknown;
  onRegenerate: (code: string) => void;
  onDisable: (code: string) => void;
}) {
  const [code, setCode] = useState("");
  const [missing, setMissing] = useState(false);
  // Two actions share the one code field: each button runs its own, after checking a code was typed.
  const act = (run: (code: string) => void) => {
    if (code.length < 6) return setMissing(true);
    setMissing(false);
    run(code);
    setCode("");
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    act(props.onRegenerate);
  };
  return (
    <>
      <p>
        MFA is <strong>on</strong>
        {props.status.confirmedAt ? (
          <>
            {" "}
            since <RelativeTime iso={props.status.confirmedAt} />
          </>
        ) : null}
        . {props.status.recoveryCodesRemaining} unused recovery code(s) left.
        {props.status.requiredByOrg ? " Your organization requires MFA, so it cannot be turned off." : ""}
      </p>
      <form onSubmit={submit} aria-label="Manage MFA">
        <CodeField value={code} onChange={setCode} allowRecovery />
        {missing && (
          <p className="notice notice-error compact" role="alert">
            Enter a current code first.
          </p>
        )}
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="submit" className="secondary" disabled={props.busy}>
            New recovery codes
          </button>
          {!props.status.requiredByOrg && (
            <button type="button" className="danger" disabled={props.busy} onClick={() => act(props.onDisable)}>
              Turn off MFA
            </button>
          )}
        </div>
      </form>
    </>
  );
}

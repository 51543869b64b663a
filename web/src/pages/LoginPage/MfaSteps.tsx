/** The login's second steps: a code for an account with MFA, or the enrolment an org's policy requires. */
import { useState, type FormEvent } from "react";
import type { MfaEnrollment } from "../../api/types.js";
import { CodeField, MfaEnrollmentForm, RecoveryCodesNotice } from "../../components/Mfa.js";
import { LoginError } from "./LoginView.js";

export function MfaCodeStep(props: {
  busy: boolean;
  error: unknown;
  onSubmit: (code: string) => void;
  onBack: () => void;
}) {
  const [code, setCode] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit(code);
  };
  return (
    <div className="login">
      <form className="card login-card" onSubmit={submit} aria-label="Two-factor code">
        <h1>Stackyard</h1>
        <p className="muted">Enter the code from your authenticator app, or one of your recovery codes.</p>
        {props.error ? <LoginError error={props.error} onChooseOrg={() => undefined} /> : null}
        <CodeField value={code} onChange={setCode} allowRecovery label="Code" autoFocus />
        <button type="submit" disabled={props.busy}>
          {props.busy ? "Checking…" : "Verify"}
        </button>
        <button type="button" className="secondary" onClick={props.onBack}>
          Back to the password
        </button>
      </form>
    </div>
  );
}

export function MfaEnrollStep(props: {
  enrollment: MfaEnrollment | null;
  busy: boolean;
  error: unknown;
  onConfirm: (code: string) => void;
  onBack: () => void;
}) {
  return (
    <div className="login">
      <section className="card login-card wide" aria-label="MFA required">
        <h1>Set up MFA</h1>
        <p className="muted">Your organization requires a second factor. Set it up to finish logging in.</p>
        {props.enrollment ? (
          <MfaEnrollmentForm
            enrollment={props.enrollment}
            busy={props.busy}
            error={props.error}
            onConfirm={props.onConfirm}
            onCancel={props.onBack}
          />
        ) : props.error ? (
          <LoginError error={props.error} onChooseOrg={() => undefined} />
        ) : (
          <p className="muted">Preparing a new secret…</p>
        )}
      </section>
    </div>
  );
}

export function RecoveryCodesStep(props: { codes: readonly string[]; onContinue: () => void }) {
  return (
    <div className="login">
      <section className="card login-card wide" aria-label="MFA is on">
        <h1>MFA is on</h1>
        <RecoveryCodesNotice codes={props.codes} doneLabel="I saved them — continue" onDone={props.onContinue} />
      </section>
    </div>
  );
}

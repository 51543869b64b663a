import { useState, type FormEvent } from "react";
import { ApiError } from "../../api/client.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";

const REASONS: Record<string, string> = {
  SESSION_REVOKED: "Your session was ended. Log in again.",
  REFRESH_TOKEN_REUSED: "Your session was ended for safety (a used refresh token was presented). Log in again.",
  REFRESH_TOKEN_EXPIRED: "Your session expired. Log in again.",
  TOKEN_EXPIRED: "Your session expired. Log in again.",
  LOGGED_OUT: "You logged out in another tab.",
};

export function LoginView(props: {
  initialEmail: string;
  orgName: string | null;
  reason: string | null;
  busy: boolean;
  error: unknown;
  /** `orgId` when the caller picked one of the orgs an ORG_SELECTION_REQUIRED answer offered. */
  onSubmit: (email: string, password: string, orgId?: string) => void;
}) {
  const [email, setEmail] = useState(props.initialEmail);
  const [password, setPassword] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit(email.trim(), password);
  };
  const reason = props.reason ? (REASONS[props.reason] ?? "Log in to continue.") : null;
  return (
    <div className="login">
      <form className="card login-card" onSubmit={submit} aria-label="Log in">
        <h1>Stackyard</h1>
        <p className="muted">{props.orgName ? `Log in to ${props.orgName}` : "Log in to your organization"}</p>
        {reason && !props.error ? <div className="notice">{reason}</div> : null}
        {props.error ? (
          <LoginError error={props.error} onChooseOrg={(orgId) => props.onSubmit(email.trim(), password, orgId)} />
        ) : null}
        <label>
          Email
          <input
            type="email"
            name="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            autoFocus={props.initialEmail !== ""}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <button type="submit" disabled={props.busy}>
          {props.busy ? "Logging in…" : "Log in"}
        </button>
      </form>
    </div>
  );
}

/** The orgs a 409 ORG_SELECTION_REQUIRED offers: those whose account this email and password opened. */
function orgChoices(e: ApiError): Array<{ id: string; name: string }> {
  const orgs = (e.details as { orgs?: unknown } | undefined)?.orgs;
  return Array.isArray(orgs)
    ? orgs.filter((o): o is { id: string; name: string } => typeof o?.id === "string" && typeof o?.name === "string")
    : [];
}

export function LoginError(props: { error: unknown; onChooseOrg: (orgId: string) => void }) {
  const e = props.error;
  if (e instanceof ApiError && e.code === "ORG_SELECTION_REQUIRED") {
    return (
      <div className="notice" role="alert">
        <p>{e.message}.</p>
        <ul className="org-choices">
          {orgChoices(e).map((o) => (
            <li key={o.id}>
              <button type="button" className="secondary" onClick={() => props.onChooseOrg(o.id)}>
                Log in to {o.name}
              </button>
            </li>
          ))}
        </ul>
      </div>
    );
  }
  if (e instanceof ApiError && e.code === "INVALID_CREDENTIALS") {
    return (
      <div className="notice notice-error" role="alert">
        Wrong email or password.
      </div>
    );
  }
  const mfa: Record<string, string> = {
    MFA_INVALID_CODE: "Wrong code. Use the current code of your app, or an unused recovery code.",
    MFA_CODE_ALREADY_USED: "This code was already used. Wait for the next one.",
    MFA_CHALLENGE_INVALID: "This login step expired. Log in again.",
  };
  if (e instanceof ApiError && mfa[e.code]) {
    return (
      <div className="notice notice-error" role="alert">
        {mfa[e.code]}
      </div>
    );
  }
  if (e instanceof ApiError && e.code === "LOGIN_THROTTLED") {
    return (
      <div className="notice notice-error" role="alert">
        Too many failed attempts: {e.message}.
      </div>
    );
  }
  return <ErrorNotice error={e} compact />;
}

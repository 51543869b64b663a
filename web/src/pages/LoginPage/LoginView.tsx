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
  onSubmit: (email: string, password: string) => void;
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
        {props.error ? <LoginError error={props.error} /> : null}
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

function LoginError(props: { error: unknown }) {
  const e = props.error;
  if (e instanceof ApiError && e.code === "INVALID_CREDENTIALS") {
    return (
      <div className="notice notice-error" role="alert">
        Wrong email or password.
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

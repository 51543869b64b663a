import { useState, type FormEvent } from "react";
import type { ChangePasswordInput } from "../../api/hooks/users.js";
import type { Me } from "../../api/types.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { Field } from "../../components/Field.js";
import { PageHeader } from "../../components/PageHeader.js";
import { MIN_PASSWORD_LENGTH } from "../UsersPage/UsersView.js";
import { MfaSection } from "./MfaSection.js";

/** The signed-in user's account: who they are, the password change form and MFA. */
export function AccountView(props: {
  me: Me;
  busy: boolean;
  error: unknown;
  /** Other sessions ended by the last successful change; null before one. */
  changed: { sessionsRevoked: number } | null;
  onChangePassword: (input: ChangePasswordInput) => void;
}) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const mismatch = repeat !== "" && repeat !== next;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (mismatch) return;
    props.onChangePassword({ currentPassword: current, newPassword: next });
  };
  return (
    <>
      <PageHeader title="Your account" subtitle={`${props.me.user.email} · ${props.me.role} in ${props.me.org.name}`} />
      <section className="card">
        <h2>Change password</h2>
        <form onSubmit={submit} aria-label="Change password">
          <Field label="Current password">
            <input
              type="password"
              name="currentPassword"
              autoComplete="current-password"
              required
              value={current}
              onChange={(e) => setCurrent(e.target.value)}
            />
          </Field>
          <Field label="New password" hint={<>At least {MIN_PASSWORD_LENGTH} characters, not your email.</>}>
            <input
              type="password"
              name="newPassword"
              autoComplete="new-password"
              required
              minLength={MIN_PASSWORD_LENGTH}
              maxLength={256}
              value={next}
              onChange={(e) => setNext(e.target.value)}
            />
          </Field>
          <Field label="New password again">
            <input
              type="password"
              name="repeatPassword"
              autoComplete="new-password"
              required
              value={repeat}
              onChange={(e) => setRepeat(e.target.value)}
            />
          </Field>
          {mismatch && (
            <p className="notice notice-error compact" role="alert">
              The two new passwords differ.
            </p>
          )}
          {props.error ? <ErrorNotice error={props.error} compact /> : null}
          {props.changed && !props.error && (
            <p className="notice" role="status">
              Password changed. {props.changed.sessionsRevoked} other session(s) were logged out; this one stays.
            </p>
          )}
          <div className="actions">
            <button type="submit" disabled={props.busy || mismatch}>
              {props.busy ? "Changing…" : "Change password"}
            </button>
          </div>
        </form>
      </section>
      <MfaSection />
    </>
  );
}

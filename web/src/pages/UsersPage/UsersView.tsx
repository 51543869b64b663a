import { useState, type FormEvent } from "react";
import type { CreateUserInput } from "../../api/hooks/users.js";
import { ROLES, roleLabel, type Role, type User } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { PageHeader, PermittedButton } from "../../components/PageHeader.js";
import { RelativeTime } from "../../components/RelativeTime.js";
import { Field } from "../../components/Field.js";

/** The API's rule, checked here too so the form says it before the round trip. */
export const MIN_PASSWORD_LENGTH = 12;

export function UsersView(props: {
  state: AsyncState<User[]>;
  currentUserId: string | undefined;
  canWrite: boolean;
  onCreate: () => void;
  onChangeRole: (user: User, role: Role) => void;
  onRemove: (user: User) => void;
  onResetMfa: (user: User) => void;
  /** The last role change's failure (e.g. LAST_ORG_ADMIN), shown whole above the table. */
  roleError?: unknown;
}) {
  return (
    <>
      <PageHeader
        title="Users"
        subtitle="People who can log in to this organization, and their roles."
        actions={
          <PermittedButton allowed={props.canWrite} permission="users:write" onClick={props.onCreate}>
            Add user
          </PermittedButton>
        }
      />
      {props.roleError ? <ErrorNotice error={props.roleError} compact /> : null}
      <AsyncContent
        state={props.state}
        loadingLabel="Loading users…"
        isEmpty={(items) => items.length === 0}
        empty={<p>No users.</p>}
      >
        {(items) => (
          <table className="table">
            <thead>
              <tr>
                <th>Email</th>
                <th>Role</th>
                <th>Added</th>
                <th>Last login</th>
                <th>MFA</th>
                {props.canWrite && <th aria-label="Actions" />}
              </tr>
            </thead>
            <tbody>
              {items.map((u) => (
                <tr key={u.id}>
                  <td>
                    {u.email} {u.id === props.currentUserId && <span className="chip">you</span>}
                  </td>
                  <td title={roleLabel(u.role)}>
                    {props.canWrite ? (
                      <select
                        aria-label={`Role of ${u.email}`}
                        value={u.role}
                        onChange={(e) => props.onChangeRole(u, e.target.value as Role)}
                      >
                        {ROLES.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    ) : (
                      u.role
                    )}
                  </td>
                  <td>
                    <RelativeTime iso={u.createdAt} />
                  </td>
                  <td>
                    <RelativeTime iso={u.lastLoginAt} />
                  </td>
                  <td>{u.mfaEnabled === undefined ? "unknown" : u.mfaEnabled ? "on" : "off"}</td>
                  {props.canWrite && (
                    <td>
                      {u.mfaEnabled && (
                        <button type="button" className="secondary small" onClick={() => props.onResetMfa(u)}>
                          Reset MFA…
                        </button>
                      )}{" "}
                      <button type="button" className="danger small" onClick={() => props.onRemove(u)}>
                        Remove…
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </AsyncContent>
    </>
  );
}

export function CreateUserDialog(props: {
  busy: boolean;
  error: unknown;
  onSubmit: (input: CreateUserInput) => void;
  onClose: () => void;
}) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("VIEWER");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit({ email: email.trim(), password, role });
  };
  return (
    <Dialog title="Add user" onClose={props.onClose}>
      <form onSubmit={submit}>
        <label>
          Email
          <input
            type="email"
            name="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            autoFocus
          />
        </label>
        <Field
          label="Initial password"
          hint={<>At least {MIN_PASSWORD_LENGTH} characters, not the email. Hand it over safely.</>}
        >
          <input
            type="password"
            name="password"
            autoComplete="new-password"
            required
            minLength={MIN_PASSWORD_LENGTH}
            maxLength={256}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </Field>
        <label>
          Role
          <select name="role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {roleLabel(r)}
              </option>
            ))}
          </select>
        </label>
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" disabled={props.busy}>
            {props.busy ? "Adding…" : "Add user"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

import { useState, type FormEvent } from "react";
import type { CreateTokenInput } from "../../api/hooks/tokens.js";
import { PERMISSIONS, permissionLabel, type CreatedApiToken, type Permission } from "../../api/types.js";
import { OneTimeSecret } from "../../components/CopyButton.js";
import { Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";

const DAY_MS = 86_400_000;
const EXPIRY_CHOICES: Array<{ value: string; label: string; days: number | null }> = [
  { value: "30", label: "30 days", days: 30 },
  { value: "90", label: "90 days", days: 90 },
  { value: "365", label: "1 year", days: 365 },
  { value: "never", label: "Never", days: null },
  { value: "custom", label: "On a date…", days: null },
];

export function expiryFrom(choice: string, customDate: string, now = Date.now()): string | null {
  if (choice === "custom") return customDate ? new Date(`${customDate}T23:59:59`).toISOString() : null;
  const days = EXPIRY_CHOICES.find((c) => c.value === choice)?.days ?? null;
  return days === null ? null : new Date(now + days * DAY_MS).toISOString();
}

/** Scopes the caller's role has can be picked; the others are shown disabled so the list is complete. */
export function CreateTokenDialog(props: {
  grantable: readonly Permission[];
  busy: boolean;
  error: unknown;
  created: CreatedApiToken | undefined;
  onSubmit: (input: CreateTokenInput) => void;
  onClose: () => void;
}) {
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Permission[]>([]);
  const [expiry, setExpiry] = useState("90");
  const [customDate, setCustomDate] = useState("");

  if (props.created) {
    return (
      <Dialog title={`Token ${props.created.name} created`} onClose={props.onClose} dismissable={false}>
        <OneTimeSecret label="API token" value={props.created.token} />
        <p className="muted small">Use it as a bearer token: Authorization: Bearer stk_…</p>
        <div className="actions">
          <button type="button" onClick={props.onClose}>
            Done
          </button>
        </div>
      </Dialog>
    );
  }
  const toggle = (p: Permission, on: boolean) =>
    setScopes((s) => (on ? [...s, p] : s.filter((x) => x !== p)).sort((a, b) => a.localeCompare(b)));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit({ name: name.trim(), scopes, expiresAt: expiryFrom(expiry, customDate) });
  };
  return (
    <Dialog title="Create API token" onClose={props.onClose}>
      <form onSubmit={submit}>
        <label>
          Name
          <input
            name="name"
            required
            maxLength={100}
            placeholder="ci-deploy"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoFocus
          />
        </label>
        <fieldset>
          <legend>Scopes</legend>
          <div className="scopes">
            {PERMISSIONS.map((p) => {
              const allowed = props.grantable.includes(p);
              return (
                <label
                  key={p}
                  className={allowed ? "check" : "check disabled"}
                  title={allowed ? undefined : "Your role does not have it"}
                >
                  <input
                    type="checkbox"
                    name="scope"
                    value={p}
                    disabled={!allowed}
                    checked={scopes.includes(p)}
                    onChange={(e) => toggle(p, e.target.checked)}
                  />
                  <span>
                    <code>{p}</code> <span className="muted small">{permissionLabel(p)}</span>
                  </span>
                </label>
              );
            })}
          </div>
        </fieldset>
        <label>
          Expires
          <select name="expiry" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
            {EXPIRY_CHOICES.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        {expiry === "custom" && (
          <label>
            Expiry date
            <input
              type="date"
              name="expiresOn"
              required
              min={new Date(Date.now() + DAY_MS).toISOString().slice(0, 10)}
              value={customDate}
              onChange={(e) => setCustomDate(e.target.value)}
            />
          </label>
        )}
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" disabled={props.busy || scopes.length === 0}>
            {props.busy ? "Creating…" : "Create token"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

import { useState, type FormEvent } from "react";
import type { CreateIntegrationCredentialInput } from "../../api/hooks/integrations.js";
import type { CreatedIntegrationCredential } from "../../api/types.js";
import { OneTimeSecret } from "../../components/CopyButton.js";
import { Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { expiryFrom } from "../TokensPage/CreateTokenDialog.js";

const EXPIRY_CHOICES = [
  { value: "never", label: "Never" },
  { value: "30", label: "30 days" },
  { value: "90", label: "90 days" },
  { value: "365", label: "1 year" },
  { value: "custom", label: "On a date…" },
];

/** A `.creds` file name from the credential's name: letters, digits, dashes. */
export const credsFileName = (name: string): string =>
  `${
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "integration"
  }.creds`;

/** The `.creds` file as a download link (a Blob URL, never sent anywhere). */
function CredsDownload(props: { name: string; creds: string }) {
  const [href] = useState(() =>
    typeof URL.createObjectURL === "function"
      ? URL.createObjectURL(new Blob([props.creds], { type: "text/plain" }))
      : `data:text/plain;charset=utf-8,${encodeURIComponent(props.creds)}`,
  );
  return (
    <a className="button-link" href={href} download={credsFileName(props.name)}>
      Download {credsFileName(props.name)}
    </a>
  );
}

export function CreateIntegrationDialog(props: {
  busy: boolean;
  error: unknown;
  created: CreatedIntegrationCredential | undefined;
  onSubmit: (input: CreateIntegrationCredentialInput) => void;
  onClose: () => void;
}) {
  const [name, setName] = useState("");
  const [expiry, setExpiry] = useState("never");
  const [customDate, setCustomDate] = useState("");

  if (props.created) {
    const { credential, creds, natsUrls, natsCa } = props.created;
    return (
      <Dialog title={`Integration ${credential.name} created`} onClose={props.onClose} dismissable={false}>
        <p>
          Download the <code>.creds</code> file now: it holds the credential’s secret seed, is shown only this once and
          cannot be shown again.
        </p>
        <CredsDownload name={credential.name} creds={creds} />
        <OneTimeSecret label="NATS credentials" value={creds} />
        <p className="muted small">
          Connect to <code>{natsUrls.join(", ")}</code> and subscribe to <code>{credential.subjects}</code>
          {natsCa ? " trusting the CA below" : ""}.
        </p>
        {natsCa && (
          <details>
            <summary>NATS server CA (PEM)</summary>
            <pre className="mono small">{natsCa}</pre>
          </details>
        )}
        <div className="actions">
          <button type="button" onClick={props.onClose}>
            Done
          </button>
        </div>
      </Dialog>
    );
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSubmit({ name: name.trim(), expiresAt: expiryFrom(expiry, customDate) });
  };
  return (
    <Dialog title="Create integration credential" onClose={props.onClose}>
      <form onSubmit={submit}>
        <label>
          Name
          <input
            name="name"
            required
            maxLength={100}
            placeholder="pagerduty-bridge"
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoFocus
          />
        </label>
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
              min={new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)}
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
          <button type="submit" disabled={props.busy || name.trim() === ""}>
            {props.busy ? "Creating…" : "Create credential"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

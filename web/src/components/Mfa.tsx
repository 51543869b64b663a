/** The pieces of MFA shared by the login page and the account page: the QR code, the enrolment form, the codes. */
import QRCode from "qrcode";
import { useEffect, useState, type FormEvent } from "react";
import type { MfaEnrollment } from "../api/types.js";
import { CopyButton } from "./CopyButton.js";
import { ErrorNotice } from "./ErrorNotice.js";

/** A QR code of `text`, drawn as SVG (no canvas, no network); says so when it cannot be drawn. */
export function QrCode(props: { text: string; label: string }) {
  const [src, setSrc] = useState<string | null | "failed">(null);
  useEffect(() => {
    let live = true;
    QRCode.toString(props.text, { type: "svg", errorCorrectionLevel: "M", margin: 2 }).then(
      (svg) => live && setSrc(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`),
      () => live && setSrc("failed"),
    );
    return () => {
      live = false;
    };
  }, [props.text]);
  if (src === "failed")
    return <p className="notice compact">The QR code cannot be drawn here: type the key instead.</p>;
  if (src === null) return <p className="muted">Drawing the QR code…</p>;
  return <img className="qr-code" src={src} alt={props.label} width={200} height={200} />;
}

/** A 6-digit code field (or a recovery code where `allowRecovery`), filled in by password managers too. */
export function CodeField(props: {
  value: string;
  onChange: (v: string) => void;
  allowRecovery?: boolean;
  label?: string;
  autoFocus?: boolean;
}) {
  return (
    <label>
      {props.label ?? (props.allowRecovery ? "Code from your app, or a recovery code" : "Code from your app")}
      <input
        name="code"
        autoComplete="one-time-code"
        inputMode={props.allowRecovery ? "text" : "numeric"}
        pattern={props.allowRecovery ? undefined : "[0-9]{6}"}
        minLength={6}
        maxLength={props.allowRecovery ? 32 : 6}
        required
        autoFocus={props.autoFocus ?? false}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value.trim())}
      />
    </label>
  );
}

/** Shows the new secret (QR code and key, this once) and confirms it with a first code. */
export function MfaEnrollmentForm(props: {
  enrollment: MfaEnrollment;
  busy: boolean;
  error: unknown;
  onConfirm: (code: string) => void;
  onCancel?: () => void;
}) {
  const [code, setCode] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onConfirm(code);
  };
  return (
    <form onSubmit={submit} aria-label="Set up MFA" className="mfa-enrollment">
      <p>
        Scan this QR code with an authenticator app (any app that supports TOTP), or type the key into it. Then enter
        the 6-digit code the app shows.
      </p>
      <QrCode text={props.enrollment.otpauthUri} label="QR code of the MFA secret" />
      <div className="secret">
        <div className="secret-head">
          <strong>Key</strong>
          <CopyButton text={props.enrollment.secret} />
        </div>
        <pre className="secret-value" data-testid="mfa-secret">
          {props.enrollment.secret.replace(/(.{4})(?!$)/g, "$1 ")}
        </pre>
        <p className="muted small">Shown only now. MFA is on once the code below is accepted.</p>
      </div>
      <CodeField value={code} onChange={setCode} />
      {props.error ? <ErrorNotice error={props.error} compact /> : null}
      <div className="actions">
        {props.onCancel && (
          <button type="button" className="secondary" onClick={props.onCancel}>
            Cancel
          </button>
        )}
        <button type="submit" disabled={props.busy}>
          {props.busy ? "Checking…" : "Turn on MFA"}
        </button>
      </div>
    </form>
  );
}

/** New recovery codes, shown this once, until the user says they kept them. */
export function RecoveryCodesNotice(props: { codes: readonly string[]; doneLabel: string; onDone: () => void }) {
  const text = props.codes.join("\n");
  return (
    <div className="secret" role="region" aria-label="Recovery codes">
      <div className="secret-head">
        <strong>Recovery codes</strong>
        <CopyButton text={text} />
      </div>
      <pre className="secret-value" data-testid="recovery-codes">
        {text}
      </pre>
      <p className="muted small">
        Each code logs you in once if you lose your authenticator app. They are shown only now: keep them somewhere
        safe, away from this device.
      </p>
      <div className="actions">
        <button type="button" onClick={props.onDone}>
          {props.doneLabel}
        </button>
      </div>
    </div>
  );
}

import { useState } from "react";

/** Copies `text`; when the clipboard is unavailable (no secure context), says to copy by hand. */
export function CopyButton(props: { text: string; label?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
      setState("copied");
    } catch {
      setState("failed");
    }
  };
  return (
    <button type="button" className="secondary" onClick={() => void copy()}>
      {state === "copied" ? "Copied" : state === "failed" ? "Copy failed — select the text" : (props.label ?? "Copy")}
    </button>
  );
}

/** A credential shown once: selectable, copyable, and a plain warning that it will not be shown again. */
export function OneTimeSecret(props: { label: string; value: string; hint?: string }) {
  return (
    <div className="secret">
      <div className="secret-head">
        <strong>{props.label}</strong>
        <CopyButton text={props.value} />
      </div>
      <pre className="secret-value" data-testid={`secret-${props.label}`}>
        {props.value}
      </pre>
      <p className="muted small">{props.hint ?? "Shown only this once. Copy it now and keep it somewhere safe."}</p>
    </div>
  );
}

import { useEffect, useId, type ReactNode } from "react";

/** A modal: Escape or the backdrop closes it (unless `dismissable` is false, e.g. while a secret is shown). */
export function Dialog(props: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  dismissable?: boolean;
  /** Room for diffs and logs. */
  wide?: boolean;
}) {
  const titleId = useId();
  const { onClose, dismissable = true } = props;
  useEffect(() => {
    if (!dismissable) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose, dismissable]);
  return (
    <div className="backdrop" onMouseDown={(e) => dismissable && e.target === e.currentTarget && onClose()}>
      <div className={props.wide ? "dialog wide" : "dialog"} role="dialog" aria-modal="true" aria-labelledby={titleId}>
        <div className="dialog-head">
          <h2 id={titleId}>{props.title}</h2>
          <button type="button" className="icon" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </div>
        {props.children}
      </div>
    </div>
  );
}

export function ConfirmDialog(props: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  /** The button that closes without doing anything; "Cancel" unless that would be ambiguous. */
  cancelLabel?: string;
  busy?: boolean;
  error?: ReactNode;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <Dialog title={props.title} onClose={props.onCancel}>
      <div className="dialog-body">{props.children}</div>
      {props.error}
      <div className="actions">
        <button type="button" className="secondary" onClick={props.onCancel}>
          {props.cancelLabel ?? "Cancel"}
        </button>
        <button type="button" className="danger" disabled={props.busy} onClick={props.onConfirm}>
          {props.busy ? "Working…" : props.confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}

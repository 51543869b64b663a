import { cloneElement, useId, type ReactElement, type ReactNode } from "react";

/**
 * A labelled form control with an optional hint. The hint is tied with aria-describedby rather than placed inside
 * the <label>, so the control's accessible name is just the label.
 */
export function Field(props: { label: ReactNode; hint?: ReactNode; children: ReactElement<{ id?: string }> }) {
  const id = useId();
  const hintId = `${id}-hint`;
  const control = cloneElement(props.children as ReactElement<Record<string, unknown>>, {
    id,
    ...(props.hint ? { "aria-describedby": hintId } : {}),
  });
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      {control}
      {props.hint && (
        <span id={hintId} className="muted small">
          {props.hint}
        </span>
      )}
    </div>
  );
}

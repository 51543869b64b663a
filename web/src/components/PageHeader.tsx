import type { ReactNode } from "react";

export function PageHeader(props: { title: ReactNode; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="page-header">
      <div>
        <h1>{props.title}</h1>
        {props.subtitle && <p className="muted">{props.subtitle}</p>}
      </div>
      {props.actions && <div className="page-actions">{props.actions}</div>}
    </div>
  );
}

/** A write button that is disabled, with the reason on hover, when the caller lacks the permission. */
export function PermittedButton(props: {
  allowed: boolean;
  permission: string;
  onClick: () => void;
  children: ReactNode;
  className?: string;
}) {
  return (
    <button
      type="button"
      className={props.className}
      disabled={!props.allowed}
      title={props.allowed ? undefined : `Needs the ${props.permission} permission`}
      onClick={props.onClick}
    >
      {props.children}
    </button>
  );
}

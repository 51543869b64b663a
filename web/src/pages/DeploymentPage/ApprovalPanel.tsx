import { useState, type ReactNode } from "react";
import type { Deployment } from "../../api/types.js";

/** What the deployment page knows about deciding on an approval; `disabled` says why the caller may not. */
export interface ApprovalActions {
  role: string | null;
  disabled: string | null;
  busy: boolean;
  error: ReactNode;
  onDecide: (decision: "approve" | "reject", comment: string) => void;
}

/** A deployment AWAITING_APPROVAL: who may decide, a comment, Approve / Reject. After a decision: what it was. */
export function ApprovalPanel(props: { deployment: Deployment; actions: ApprovalActions }) {
  const d = props.deployment;
  const [comment, setComment] = useState("");
  if (d.status !== "AWAITING_APPROVAL") {
    if (!d.approval) return null;
    return (
      <p className="notice" role="note" aria-label="Approval">
        {d.approval.decision === "approved" ? "Approved" : "Rejected"} by {d.approval.by ?? "unknown"}
        {d.approval.comment ? `: “${d.approval.comment}”` : ""}
      </p>
    );
  }
  const a = props.actions;
  return (
    <section className="notice" role="region" aria-label="Approval">
      <strong>Awaiting approval</strong>
      <p>
        Nothing is sent to the cluster until a user with the role {a.role ?? "required by the environment"} (or an
        ORG_ADMIN), other than the requester, approves it.
      </p>
      <label>
        Comment
        <textarea
          aria-label="Approval comment"
          value={comment}
          maxLength={1000}
          rows={2}
          onChange={(e) => setComment(e.target.value)}
        />
      </label>
      {a.error}
      <div className="actions">
        <button
          type="button"
          disabled={a.disabled !== null || a.busy}
          title={a.disabled ?? undefined}
          onClick={() => a.onDecide("approve", comment)}
        >
          Approve
        </button>
        <button
          type="button"
          className="danger outline"
          disabled={a.disabled !== null || a.busy}
          title={a.disabled ?? undefined}
          onClick={() => a.onDecide("reject", comment)}
        >
          Reject
        </button>
      </div>
      {a.disabled && <p className="muted small">{a.disabled}</p>}
    </section>
  );
}

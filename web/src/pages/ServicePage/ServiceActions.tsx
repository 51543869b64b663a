import { useState } from "react";
import type { ServiceActionResult } from "../../api/types.js";
import { ConfirmDialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { PermittedButton } from "../../components/PageHeader.js";

type Action = "restart" | "rollback";

const CONFIRM: Record<Action, { title: string; label: string; text: string }> = {
  restart: {
    title: "Restart",
    label: "Restart service",
    text: "Every task is replaced, one update batch at a time, with the same spec (Swarm's force update).",
  },
  rollback: {
    title: "Roll back",
    label: "Roll back service",
    text: "The service returns to the Swarm spec it had before its last update. That spec may differ from the release: the environment shows drift until the next deploy restores the release.",
  },
};

/** Restart and Roll back for one service, each confirmed; the outcome (or the refusal, whole) is shown after. */
export function ServiceActions(props: {
  service: string;
  canWrite: boolean;
  /** Why the actions are off (agent offline, a deployment running), or null. */
  disabledReason: string | null;
  busy: boolean;
  error: unknown;
  result: ServiceActionResult | undefined;
  onRun: (action: Action) => Promise<unknown>;
  onReset: () => void;
}) {
  const [confirming, setConfirming] = useState<Action | null>(null);
  const allowed = props.canWrite && props.disabledReason === null;
  const button = (action: Action) => (
    <span title={props.canWrite ? (props.disabledReason ?? undefined) : undefined}>
      <PermittedButton
        allowed={allowed}
        permission="deployments:write"
        className="secondary"
        onClick={() => {
          props.onReset();
          setConfirming(action);
        }}
      >
        {CONFIRM[action].title}
      </PermittedButton>
    </span>
  );
  return (
    <div className="service-actions">
      {button("restart")}
      {button("rollback")}
      {props.result && !confirming && (
        <p className="muted small" role="status">
          {props.result.action === "restart" ? "Restart" : "Rollback"} of {props.result.swarmService} accepted:{" "}
          {props.result.note}.
        </p>
      )}
      {confirming && (
        <ConfirmDialog
          title={`${CONFIRM[confirming].title} ${props.service}?`}
          confirmLabel={CONFIRM[confirming].label}
          busy={props.busy}
          error={props.error ? <ErrorNotice error={props.error} compact /> : null}
          onCancel={() => setConfirming(null)}
          onConfirm={() => void props.onRun(confirming).then((ok) => ok && setConfirming(null))}
        >
          {CONFIRM[confirming].text}
        </ConfirmDialog>
      )}
    </div>
  );
}

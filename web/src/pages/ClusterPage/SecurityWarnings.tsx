import type { ReactNode } from "react";
import type { ClusterSecurityWarning } from "../../api/types.js";
import { PermittedButton } from "../../components/PageHeader.js";
import { formatDateTime, RelativeTime } from "../../components/RelativeTime.js";

/** What each refusal code means for the person reading the warning. */
const MEANING: Record<string, string> = {
  BAD_SIGNATURE: "a command was not signed by this control plane",
  WRONG_CLUSTER: "a command addressed to another cluster reached this agent",
  EXPIRED: "an expired command was delivered (clock skew, or a replayed capture)",
  REPLAYED: "a command the agent already ran was sent again",
  MALFORMED_MESSAGE: "the agent received a message that is not a valid command",
};

/**
 * Open security warnings of a cluster: commands its agent refused before running them, which may be an attack.
 * Shown above everything else on the cluster page until an ORG_ADMIN or CLUSTER_ADMIN acknowledges them.
 */
export function SecurityWarnings(props: {
  warnings: ClusterSecurityWarning[];
  canAcknowledge: boolean;
  acknowledging: string | null;
  error: ReactNode;
  onAcknowledge: (warningId: string) => void;
}) {
  if (props.warnings.length === 0) return null;
  return (
    <section className="notice notice-error" role="alert" aria-label="Security warnings">
      <h2>Security warning: the agent refused {props.warnings.length === 1 ? "a command" : "commands"} it was sent</h2>
      <p className="small">
        A refused command may be an attack on this cluster (or a misconfigured control plane). Nothing was run. Check
        who can publish on the bus, then acknowledge.
      </p>
      {props.error}
      <ul className="warnings">
        {props.warnings.map((w) => (
          <li key={w.id}>
            <strong className="mono">{w.code}</strong>
            {MEANING[w.code] ? ` — ${MEANING[w.code]}` : null}
            <div>{w.reason}</div>
            <div className="muted small">
              {w.count === 1 ? "once" : `${w.count} times`}
              {w.commandType ? ` · command ${w.commandType}` : ""} · first {formatDateTime(w.firstSeenAt)} · last{" "}
              <RelativeTime iso={w.lastSeenAt} />
            </div>
            <PermittedButton
              allowed={props.canAcknowledge && props.acknowledging === null}
              permission="clusters:write"
              className="secondary"
              onClick={() => props.onAcknowledge(w.id)}
            >
              {props.acknowledging === w.id ? "Acknowledging…" : "Acknowledge"}
            </PermittedButton>
          </li>
        ))}
      </ul>
    </section>
  );
}

import type { Alert, AlertRule } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { PageHeader } from "../../components/PageHeader.js";
import { RelativeTime } from "../../components/RelativeTime.js";
import { StatusBadge } from "../../components/StatusBadge.js";

/** "Silence 1 h" silences for this long. */
export const SILENCE_MS = 3_600_000;

const KIND_LABELS: Record<AlertRule["kind"], string> = {
  deployment_failed: "Deployment failed",
  drift_detected: "Drift detected",
  service_below_replicas: "Service below desired replicas",
  task_restart_loop: "Task restart loop",
  node_down: "Node down",
  cluster_offline: "Cluster offline",
  certificate_expiring: "Certificate expiring",
  agent_refused_command: "Agent refused a command",
};
export const kindLabel = (kind: AlertRule["kind"]): string => KIND_LABELS[kind];

/** Where an alert stands, in words: firing or resolved, and what people did about it. */
export function alertState(a: Alert, now = Date.now()): string {
  const parts: string[] = [a.status];
  if (a.acknowledgedAt) parts.push("acknowledged");
  if (a.silencedUntil && Date.parse(a.silencedUntil) > now) parts.push("silenced");
  return parts.join(" · ");
}

function windowWords(r: AlertRule): string {
  if (r.kind === "task_restart_loop") return `${r.threshold ?? 3} deaths in ${r.windowSeconds}s`;
  if (r.kind === "certificate_expiring") return `${r.threshold ?? 14} days before expiry`;
  return r.windowSeconds > 0 ? `for ${r.windowSeconds}s` : "at once";
}

export function AlertsView(props: {
  alerts: AsyncState<Alert[]>;
  rules: AsyncState<AlertRule[]>;
  canAck: boolean;
  busy: boolean;
  onAcknowledge: (alert: Alert) => void;
  onSilence: (alert: Alert) => void;
}) {
  return (
    <>
      <PageHeader
        title="Alerts"
        subtitle="What the org’s alert rules fired, newest first: firing until the condition ends, then resolved. Each alert is sent to its rule’s notification endpoints and email recipients."
      />
      <AsyncContent
        state={props.alerts}
        loadingLabel="Loading alerts…"
        isEmpty={(items) => items.length === 0}
        empty={<p>No alert has fired yet.</p>}
      >
        {(items) => (
          <table className="table" aria-label="Alert history">
            <thead>
              <tr>
                <th>State</th>
                <th>Severity</th>
                <th>Alert</th>
                <th>Rule</th>
                <th>Fired</th>
                <th>Resolved</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <tr key={a.id} data-alert={a.id} data-status={a.status}>
                  <td>
                    <StatusBadge status={alertState(a)} />
                  </td>
                  <td>{a.severity}</td>
                  <td>{a.summary}</td>
                  <td>
                    {a.ruleName} <span className="muted small">({kindLabel(a.kind)})</span>
                  </td>
                  <td>
                    <RelativeTime iso={a.firedAt} />
                  </td>
                  <td>{a.resolvedAt ? <RelativeTime iso={a.resolvedAt} /> : "—"}</td>
                  <td className="row-actions">
                    {props.canAck && !a.acknowledgedAt && (
                      <button
                        type="button"
                        className="secondary small"
                        disabled={props.busy}
                        onClick={() => props.onAcknowledge(a)}
                      >
                        Acknowledge
                      </button>
                    )}
                    {props.canAck && a.status === "firing" && !a.silencedUntil && (
                      <button
                        type="button"
                        className="secondary small"
                        disabled={props.busy}
                        onClick={() => props.onSilence(a)}
                      >
                        Silence 1 h
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </AsyncContent>
      <h2>Rules</h2>
      <AsyncContent
        state={props.rules}
        loadingLabel="Loading alert rules…"
        isEmpty={(items) => items.length === 0}
        empty={<p>No alert rules yet (an org admin adds them through the API: POST /v1/orgs/…/alert-rules).</p>}
      >
        {(items) => (
          <table className="table" aria-label="Alert rules">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Severity</th>
                <th>Fires</th>
                <th>Routes to</th>
                <th>State</th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={r.id} data-rule={r.name}>
                  <td>{r.name}</td>
                  <td>{kindLabel(r.kind)}</td>
                  <td>{r.severity}</td>
                  <td>{windowWords(r)}</td>
                  <td>
                    {r.endpointIds.length} endpoint(s), {r.emailRecipients.length} email recipient(s)
                  </td>
                  <td>
                    <StatusBadge status={r.enabled ? "enabled" : "disabled"} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </AsyncContent>
    </>
  );
}

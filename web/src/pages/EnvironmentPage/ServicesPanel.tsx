import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import type { EnvironmentStatus, ServiceLogs, ServiceStatus, ServiceTask } from "../../api/types.js";
import { AsyncContent, type AsyncState } from "../../components/AsyncContent.js";
import { Dialog } from "../../components/Dialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { Field } from "../../components/Field.js";
import { formatAge, formatDateTime } from "../../components/RelativeTime.js";

const MAX_REPLICAS = 1000;
/** Task problems shown per service; the rest are counted. */
const SHOWN_TASK_ERRORS = 3;

const isProblem = (t: ServiceTask): boolean =>
  t.error !== null || ["failed", "rejected", "orphaned"].includes(t.state.toLowerCase());

/** The services of the environment's stack as the agent sees them, against the desired release. */
export function ServicesPanel(props: {
  state: AsyncState<EnvironmentStatus>;
  /** Why Scale is unavailable (no permission, a deployment running, the agent offline), or null. */
  scaleBlocked: string | null;
  /** Why Logs is unavailable (the agent offline), or null. */
  logsBlocked: string | null;
  onScale: (service: ServiceStatus) => void;
  onLogs: (service: ServiceStatus) => void;
  /** The service's own page (tasks, logs). */
  serviceHref?: (service: ServiceStatus) => string;
}) {
  return (
    <>
      <div className="section-head">
        <h2>Services</h2>
        {props.state.data && <SourceNote status={props.state.data} />}
      </div>
      <AsyncContent state={props.state} loadingLabel="Asking the agent for the services…">
        {(status) => (
          <>
            {status.agentError && (
              <div className="notice notice-warn compact" data-testid="agent-offline">
                <strong>
                  {status.agent.status === "link_down" && status.agent.offlineSince
                    ? `The cluster's site cannot reach the hub (link down) since ${formatDateTime(status.agent.offlineSince)}; this is the last inventory it sent.`
                    : status.agent.status === "offline" && status.agent.offlineSince
                      ? `The cluster's agent is offline since ${formatDateTime(status.agent.offlineSince)}; this is the last inventory it sent.`
                      : "The agent did not answer; this is the last inventory it sent."}
                </strong>
                <p className="small">{status.agentError}</p>
              </div>
            )}
            {(props.scaleBlocked ?? props.logsBlocked) && status.services.length > 0 && (
              <p className="muted small" data-testid="runtime-blocked">
                {props.scaleBlocked && props.scaleBlocked === props.logsBlocked
                  ? `Scale and Logs are unavailable: ${props.scaleBlocked}`
                  : [
                      props.scaleBlocked && `Scale is unavailable: ${props.scaleBlocked}`,
                      props.logsBlocked && `Logs are unavailable: ${props.logsBlocked}`,
                    ]
                      .filter(Boolean)
                      .join(" · ")}
              </p>
            )}
            {status.missingServices.length > 0 && (
              <div className="notice notice-warn compact">
                <strong>Not running:</strong> {status.missingServices.join(", ")}
                <p className="small muted">These services are in the desired release but not on the cluster.</p>
              </div>
            )}
            {status.extraServices.length > 0 && (
              <div className="notice notice-warn compact" data-testid="extra-services">
                <strong>Not in the desired release:</strong> {status.extraServices.join(", ")}
                <p className="small muted">These services run in the stack but the release does not declare them.</p>
              </div>
            )}
            {status.services.length === 0 ? (
              <div className="empty">
                <p>No services of this environment run on the cluster.</p>
                <p className="muted">Deploy a release to start them.</p>
              </div>
            ) : (
              <ServicesTable status={status} {...props} />
            )}
          </>
        )}
      </AsyncContent>
    </>
  );
}

function SourceNote(props: { status: EnvironmentStatus }) {
  const s = props.status;
  return (
    <span className="muted small source-note">
      {s.desiredRelease ? `desired: v${s.desiredRelease.version} · ` : "nothing deployed · "}
      {s.source === "agent" ? "live from the agent" : `last inventory, ${formatAge(s.ageSeconds * 1000)}`}{" "}
      {s.sync.state === "in_sync" && <span className="badge badge-good">in sync</span>}
      {s.sync.state === "drifted" && <span className="badge badge-warn">out of sync</span>}
      {s.sync.state === "unknown" && (
        <span data-testid="sync-unknown" title={s.sync.reason}>
          <span className="badge badge-muted">unknown</span>{" "}
          {s.agent.status === "offline" || s.agent.status === "link_down"
            ? s.agent.offlineSince
              ? `(agent ${s.agent.status === "link_down" ? "link down" : "offline"} since ${formatDateTime(s.agent.offlineSince)})`
              : "(the agent has never connected)"
            : "(the agent did not answer)"}
        </span>
      )}
    </span>
  );
}

function ServicesTable(props: {
  status: EnvironmentStatus;
  scaleBlocked: string | null;
  logsBlocked: string | null;
  onScale: (service: ServiceStatus) => void;
  onLogs: (service: ServiceStatus) => void;
  serviceHref?: (service: ServiceStatus) => string;
}) {
  return (
    <table className="table services">
      <thead>
        <tr>
          <th>Service</th>
          <th>Image</th>
          <th>Replicas</th>
          <th>Drift</th>
          <th>Tasks</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {props.status.services.map((s) => {
          const short = s.runningReplicas < s.desiredReplicas;
          return (
            <tr key={s.name} data-service={s.name}>
              <td>
                <strong>{props.serviceHref ? <Link to={props.serviceHref(s)}>{s.name}</Link> : s.name}</strong>
                <div className="muted small mono">{s.swarmName}</div>
              </td>
              <td className="mono small image">{s.image}</td>
              <td className="nowrap" data-testid="replicas">
                <span className={short ? "replicas short" : "replicas"}>
                  {s.runningReplicas}/{s.desiredReplicas}
                </span>
                {s.mode === "global" && <div className="muted small">global</div>}
                {s.updateStatus && s.updateStatus.state !== "completed" && (
                  <div data-testid="update-state" title={s.updateStatus.message}>
                    <span className={`badge ${s.updateStatus.state.endsWith("paused") ? "badge-bad" : "badge-warn"}`}>
                      {UPDATE_STATE_LABELS[s.updateStatus.state]}
                    </span>
                  </div>
                )}
                {s.replicaOverride !== null && (
                  <div className="muted small" data-testid="replica-override" title="Set by scaling; deploys keep it">
                    scaled to {s.replicaOverride}
                  </div>
                )}
              </td>
              <td data-testid="drift">
                <DriftCell service={s} />
              </td>
              <td>
                <TaskSummary tasks={s.tasks} />
              </td>
              <td className="row-actions nowrap">
                <button
                  type="button"
                  className="secondary small"
                  disabled={props.scaleBlocked !== null || s.mode === "global"}
                  title={
                    props.scaleBlocked ?? (s.mode === "global" ? "A global service runs one task per node" : undefined)
                  }
                  onClick={() => props.onScale(s)}
                >
                  Scale
                </button>{" "}
                <button
                  type="button"
                  className="secondary small"
                  disabled={props.logsBlocked !== null}
                  title={props.logsBlocked ?? undefined}
                  onClick={() => props.onLogs(s)}
                >
                  Logs
                </button>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Swarm's UpdateStatus.State as a person reads it (completed is not shown: nothing is going on). */
const UPDATE_STATE_LABELS: Record<NonNullable<ServiceStatus["updateStatus"]>["state"], string> = {
  updating: "updating",
  paused: "update paused",
  completed: "updated",
  rollback_started: "rolling back",
  rollback_paused: "rollback paused",
  rollback_completed: "rolled back",
};

/** A "drifted" badge naming the fields that differ, each field's summary under it; or why nothing is known. */
function DriftCell(props: { service: ServiceStatus }) {
  const s = props.service;
  const notInRelease = s.drift.includes("not in the desired release");
  if (s.driftFields.length === 0 && !notInRelease) {
    return (
      <>
        <span className="muted">—</span>
        {s.comparison === "partial" && (
          <div
            className="muted small"
            data-testid="drift-partial"
            title="The agent or the deployment record gave no full spec"
          >
            image and replicas only
          </div>
        )}
      </>
    );
  }
  const fields = s.driftFields.map((f) => f.field);
  return (
    <>
      {notInRelease && <span className="badge badge-warn drift">not in the desired release</span>}
      {fields.length > 0 && (
        <span
          className="badge badge-warn drift"
          data-testid="drifted"
          title={s.driftFields.map((f) => f.summary).join("\n")}
        >
          drifted: {fields.join(", ")}
        </span>
      )}
      <ul className="drift-fields small">
        {s.driftFields.map((f) => (
          <li key={f.field} data-field={f.field}>
            {f.summary}
          </li>
        ))}
      </ul>
      {s.comparison === "partial" && (
        <div className="muted small" data-testid="drift-partial">
          image and replicas only
        </div>
      )}
    </>
  );
}

function TaskSummary(props: { tasks: ServiceTask[] }) {
  // Swarm keeps a few finished tasks per slot as history; only those meant to run say how the service is doing.
  const current = props.tasks.filter((t) => t.desiredState.toLowerCase() === "running");
  const running = current.filter((t) => t.state.toLowerCase() === "running").length;
  // Failures of replaced tasks stay in the history; they matter only while the service is short of tasks.
  const healthy = current.length > 0 && running === current.length;
  const problems = healthy
    ? []
    : [
        ...current.filter((t) => t.state.toLowerCase() !== "running"),
        ...props.tasks.filter((t) => !current.includes(t) && isProblem(t)),
      ];
  return (
    <div className="tasks">
      <span className="muted small">
        {running} running{current.length > running ? ` of ${current.length}` : ""}
      </span>
      {problems.slice(0, SHOWN_TASK_ERRORS).map((t) => (
        <div key={t.id} className="task-error small" title={`task ${t.id} · ${t.timestamp}`}>
          {t.state}: {t.error ?? t.message}
        </div>
      ))}
      {problems.length > SHOWN_TASK_ERRORS && (
        <div className="muted small">and {problems.length - SHOWN_TASK_ERRORS} more</div>
      )}
    </div>
  );
}

/** Sets a service's replica count; the API answers once the new count of tasks runs. */
export function ScaleDialog(props: {
  service: ServiceStatus;
  busy: boolean;
  error: unknown;
  onSubmit: (replicas: number) => void;
  onClose: () => void;
}) {
  const [value, setValue] = useState(String(props.service.desiredReplicas));
  const replicas = Number(value);
  const valid = value !== "" && Number.isInteger(replicas) && replicas >= 0 && replicas <= MAX_REPLICAS;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (valid) props.onSubmit(replicas);
  };
  return (
    <Dialog title={`Scale ${props.service.name}`} onClose={props.onClose}>
      <form onSubmit={submit}>
        <Field
          label="Replicas"
          hint={
            <>
              Now {props.service.desiredReplicas} desired, {props.service.runningReplicas} running. The count becomes
              the environment’s desired state: later deploys keep it instead of the release’s count.
            </>
          }
        >
          <input
            type="number"
            name="replicas"
            min={0}
            max={MAX_REPLICAS}
            step={1}
            required
            value={value}
            onChange={(e) => setValue(e.target.value)}
            autoFocus
          />
        </Field>
        {!valid && (
          <p className="notice notice-error compact" role="status">
            Scale is disabled: replicas must be a whole number from 0 to {MAX_REPLICAS}.
          </p>
        )}
        {valid && replicas === 0 && (
          <p className="notice notice-warn compact">Scaling to 0 stops every task of {props.service.name}.</p>
        )}
        {props.error ? <ErrorNotice error={props.error} compact /> : null}
        <div className="actions">
          <button type="button" className="secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button
            type="submit"
            disabled={props.busy || !valid}
            title={!valid ? `Replicas must be a whole number from 0 to ${MAX_REPLICAS}` : undefined}
          >
            {props.busy ? "Scaling… waiting for the tasks" : valid ? `Scale to ${replicas}` : "Scale"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** dockerd stamps lines with nanoseconds; Date parses milliseconds. */
function LogTime(props: { ts: string | null }) {
  const d = props.ts ? new Date(props.ts.replace(/(\.\d{3})\d+/, "$1")) : null;
  if (!props.ts || !d || Number.isNaN(d.getTime())) return <time />;
  const pad = (n: number) => String(n).padStart(2, "0");
  return (
    <time dateTime={props.ts} title={formatDateTime(d.toISOString())}>
      {pad(d.getHours())}:{pad(d.getMinutes())}:{pad(d.getSeconds())}
    </time>
  );
}

/** The last lines a service wrote, stdout and stderr interleaved as dockerd returns them. */
export function LogsDialog(props: {
  service: string;
  state: AsyncState<ServiceLogs>;
  refreshing: boolean;
  onRefresh: () => void;
  onClose: () => void;
}) {
  return (
    <Dialog title={`Logs of ${props.service}`} onClose={props.onClose} wide>
      <AsyncContent
        state={props.state}
        loadingLabel="Fetching the logs through the agent…"
        isEmpty={(l) => l.lines.length === 0}
        empty={<p className="muted">This service has written nothing yet.</p>}
      >
        {(logs) => (
          <>
            <ol className="console" aria-label={`Logs of ${props.service}`}>
              {logs.lines.map((l, i) => (
                <li key={i} className={`console-line tone-${l.stream === "stderr" ? "stderr" : "info"}`}>
                  <LogTime ts={l.ts} />
                  <span className="console-msg">{l.line}</span>
                </li>
              ))}
            </ol>
            <p className="muted small">
              {logs.lines.length} line{logs.lines.length === 1 ? "" : "s"}
              {logs.truncated ? " (cut to the size limit)" : ""}; stderr in red.
            </p>
          </>
        )}
      </AsyncContent>
      <div className="actions">
        <button type="button" className="secondary" disabled={props.refreshing} onClick={props.onRefresh}>
          {props.refreshing ? "Refreshing…" : "Refresh"}
        </button>
        <button type="button" onClick={props.onClose}>
          Done
        </button>
      </div>
    </Dialog>
  );
}

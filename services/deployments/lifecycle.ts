/**
 * The one owner of a deployment's lifecycle. The only legal transitions: PENDING → RUNNING → SUCCEEDED | FAILED |
 * CANCELED, PENDING → FAILED | CANCELED (never started), and PENDING → SUCCEEDED (the agent's outcome came first); a deployment to an environment that requires approval
 * starts AWAITING_APPROVAL → PENDING (approved) | REJECTED | CANCELED (approvals.ts). Every write goes through `transition`, which refuses
 * others; every ending the control plane decides itself goes through `finishDeployment`.
 */
import type { Knex } from "knex";
import type { DeploymentOutcome } from "../../nats/protocol/messages.js";
import { afterCommit } from "../_shared/after-commit.js";
import { ConflictError } from "../_shared/errors.js";
import { recordDeploymentTransition } from "../_shared/metrics.js";
import { appendEvents } from "./events.repo.js";
import { publishDeploymentEvent } from "./integration-events.js";
import type { DeploymentEventView, DeploymentRow, DeploymentStatus } from "./views.js";

export const ALLOWED_TRANSITIONS: Record<DeploymentStatus, readonly DeploymentStatus[]> = {
  AWAITING_APPROVAL: ["PENDING", "REJECTED", "CANCELED"],
  // PENDING → SUCCEEDED: the agent's outcome can be stored before the worker that dispatched the command has
  // marked the deployment RUNNING (a fast deploy, or a re-dispatch answered `duplicate` after the first worker
  // died); the agent ran it, so its outcome stands, and the worker's later RUNNING finds nothing to move.
  PENDING: ["RUNNING", "SUCCEEDED", "FAILED", "CANCELED"],
  RUNNING: ["SUCCEEDED", "FAILED", "CANCELED"],
  SUCCEEDED: [],
  FAILED: [],
  CANCELED: [],
  REJECTED: [],
};

export const canTransition = (from: DeploymentStatus, to: DeploymentStatus): boolean =>
  ALLOWED_TRANSITIONS[from].includes(to);

export type TerminalStatus = "SUCCEEDED" | "FAILED" | "CANCELED" | "REJECTED";
/** The statuses nothing leaves. */
export const TERMINAL_STATUSES = (Object.keys(ALLOWED_TRANSITIONS) as DeploymentStatus[]).filter(
  (s) => ALLOWED_TRANSITIONS[s].length === 0,
) as readonly TerminalStatus[];
export const isTerminal = (status: DeploymentStatus): status is TerminalStatus =>
  (TERMINAL_STATUSES as readonly DeploymentStatus[]).includes(status);

/** The status an agent's reported outcome ends a deployment in. */
export const OUTCOME_STATUS: Record<DeploymentOutcome, TerminalStatus> = {
  succeeded: "SUCCEEDED",
  failed: "FAILED",
  timed_out: "FAILED",
  cancelled: "CANCELED",
};

export class IllegalTransitionError extends ConflictError {
  constructor(from: DeploymentStatus, to: DeploymentStatus) {
    super("ILLEGAL_TRANSITION", `a ${from} deployment cannot become ${to}`, { from, to });
  }
}

/**
 * Moves a deployment to `to` if its current status allows it; returns the updated row, or null when the row
 * had already left every status that may move to `to` (a lost race, or a redelivered message).
 */
export async function transition(
  db: Knex | Knex.Transaction,
  deploymentId: string,
  to: DeploymentStatus,
  fields: { errorMessage?: string | null; errorCode?: string | null; policyViolations?: unknown[] } = {},
): Promise<DeploymentRow | null> {
  const from = (Object.keys(ALLOWED_TRANSITIONS) as DeploymentStatus[]).filter((s) => canTransition(s, to));
  const terminal = ALLOWED_TRANSITIONS[to].length === 0;
  const [row] = (await db("deployments")
    .where({ id: deploymentId })
    .whereIn("status", from)
    .update({
      status: to,
      ...(to === "RUNNING" ? { started_at: db.fn.now() } : {}),
      // An ending straight from PENDING (the agent's outcome came first) still says when it started.
      ...(terminal ? { finished_at: db.fn.now(), started_at: db.raw("coalesce(started_at, now())") } : {}),
      ...(fields.errorMessage !== undefined ? { error_message: fields.errorMessage } : {}),
      ...(fields.errorCode !== undefined ? { error_code: fields.errorCode } : {}),
      ...(fields.policyViolations !== undefined ? { policy_violations: JSON.stringify(fields.policyViolations) } : {}),
    })
    .returning("*")) as DeploymentRow[];
  if (row) {
    afterCommit(db, () => {
      recordDeploymentTransition(row);
      publishDeploymentEvent(row);
    });
  }
  return row ?? null;
}

/** Like `transition`, but a refused move is an error (API-initiated changes). */
export async function transitionOrThrow(
  db: Knex | Knex.Transaction,
  current: DeploymentRow,
  to: DeploymentStatus,
  fields: { errorMessage?: string | null; errorCode?: string | null } = {},
): Promise<DeploymentRow> {
  if (!canTransition(current.status, to)) throw new IllegalTransitionError(current.status, to);
  const row = await transition(db, current.id, to, fields);
  if (!row) throw new IllegalTransitionError(current.status, to);
  return row;
}

/** Told about events just persisted and the status they led to (the gateways' SSE broadcast). */
export type OnDeploymentEvents = (deploymentId: string, events: DeploymentEventView[], status: string | null) => void;

export interface DeploymentEnding {
  orgId: string;
  deploymentId: string;
  status: Exclude<TerminalStatus, "SUCCEEDED">;
  /** Stored on the deployment row. */
  errorMessage: string;
  /** Stable code stored on the row (deployments.error_code) and put in the terminal event's data. */
  errorCode?: string | null;
  /** More for the terminal event's data. */
  data?: Record<string, unknown>;
  /** The compose-policy violations that refused it, stored on the row (deployments.policy_violations). */
  policyViolations?: unknown[];
  /** The terminal event; its message defaults to `errorMessage`. */
  level: "warn" | "error";
  message?: string;
  /** With the row as read: an illegal move throws (API-initiated); without, a lost race is a quiet null. */
  current?: DeploymentRow;
}

/**
 * Ends a deployment the control plane gives up on: the transition, the terminal event and (when `notify` is
 * given) the broadcast, together. Returns the ended row and its terminal events, or null when it had already ended.
 */
export async function finishDeployment(
  trx: Knex | Knex.Transaction,
  end: DeploymentEnding,
  notify?: OnDeploymentEvents,
): Promise<{ row: DeploymentRow; events: DeploymentEventView[] } | null> {
  const fields = {
    errorMessage: end.errorMessage,
    ...(end.errorCode ? { errorCode: end.errorCode } : {}),
    ...(end.policyViolations ? { policyViolations: end.policyViolations } : {}),
  };
  const row = end.current
    ? await transitionOrThrow(trx, end.current, end.status, fields)
    : await transition(trx, end.deploymentId, end.status, fields);
  if (!row) return null;
  const events = await appendEvents(trx, end.orgId, end.deploymentId, [
    {
      level: end.level,
      message: end.message ?? end.errorMessage,
      data: {
        ...end.data,
        ...(end.errorCode ? { code: end.errorCode } : {}),
        terminal: true,
        status: end.status,
      },
    },
  ]);
  notify?.(end.deploymentId, events, end.status);
  return { row, events };
}

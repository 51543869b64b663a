/**
 * The only legal deployment transitions: PENDING → RUNNING → SUCCEEDED | FAILED | CANCELED, and
 * PENDING → FAILED | CANCELED (never started). Every write goes through `transition`, which refuses others.
 */
import type { Knex } from "knex";
import { ConflictError } from "../_shared/errors.js";
import type { DeploymentRow, DeploymentStatus } from "./views.js";

export const ALLOWED_TRANSITIONS: Record<DeploymentStatus, readonly DeploymentStatus[]> = {
  PENDING: ["RUNNING", "FAILED", "CANCELED"],
  RUNNING: ["SUCCEEDED", "FAILED", "CANCELED"],
  SUCCEEDED: [],
  FAILED: [],
  CANCELED: [],
};

export const canTransition = (from: DeploymentStatus, to: DeploymentStatus): boolean =>
  ALLOWED_TRANSITIONS[from].includes(to);

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
  fields: { errorMessage?: string | null; errorCode?: string | null } = {},
): Promise<DeploymentRow | null> {
  const from = (Object.keys(ALLOWED_TRANSITIONS) as DeploymentStatus[]).filter((s) => canTransition(s, to));
  const terminal = to !== "RUNNING";
  const [row] = (await db("deployments")
    .where({ id: deploymentId })
    .whereIn("status", from)
    .update({
      status: to,
      ...(to === "RUNNING" ? { started_at: db.fn.now() } : {}),
      ...(terminal ? { finished_at: db.fn.now() } : {}),
      ...(fields.errorMessage !== undefined ? { error_message: fields.errorMessage } : {}),
      ...(fields.errorCode !== undefined ? { error_code: fields.errorCode } : {}),
    })
    .returning("*")) as DeploymentRow[];
  return row ?? null;
}

/** Like `transition`, but a refused move is an error (API-initiated changes). */
export async function transitionOrThrow(
  db: Knex | Knex.Transaction,
  current: DeploymentRow,
  to: DeploymentStatus,
  fields: { errorMessage?: string | null } = {},
): Promise<DeploymentRow> {
  if (!canTransition(current.status, to)) throw new IllegalTransitionError(current.status, to);
  const row = await transition(db, current.id, to, fields);
  if (!row) throw new IllegalTransitionError(current.status, to);
  return row;
}

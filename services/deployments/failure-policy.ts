/**
 * The environment's failure policy (`environments.on_failure`), applied when an agent reports a deployment
 * FAILED, in the transaction that records the failure:
 * - `rollback` (default): a new deployment of the release of the environment's last successful deployment,
 *   linked to the failed one (`deployments.rollback_of`), created by the control plane (`created_by_type`
 *   system), audited as `deployment.auto_rollback`; the caller enqueues it once this transaction commits.
 * - `pause`: nothing; the stack stays as the failure left it (Swarm's update paused) for inspection.
 * Either way the failed deployment gets one line saying what the policy did and why, so the console never
 * leaves the operator guessing. No rollback when nothing changed on the swarm (the agent says so in its
 * terminal event: `stackChanged`), when the agent stopped mid-deploy, or when the failed deployment is itself
 * an automatic rollback (no loops).
 */
import type { Knex } from "knex";
import { afterCommit } from "../_shared/after-commit.js";
import { systemScope } from "../_shared/tenant.js";
import { recordAudit } from "../audit/index.js";
import { ROLLBACK_WARNING } from "./deployments.logic.js";
import { appendEvents } from "./events.repo.js";
import { publishDeploymentEvent } from "./integration-events.js";
import type { DeploymentEventView, DeploymentRow } from "./views.js";

export const FAILURE_POLICIES = ["rollback", "pause"] as const;
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];
export const AUTO_ROLLBACK_AUDIT_ACTION = "deployment.auto_rollback";

/** What the agent's terminal event says about the failure (handlers/deployments.ts `terminalEvent`). */
export interface FailureReport {
  /** `docker stack deploy` ran: the swarm may differ from the last successful deployment. */
  stackChanged?: unknown;
  /** "agent_stopped" when the agent shut down mid-deploy. */
  cause?: unknown;
}

export type PolicyDecision =
  | { action: "rollback"; toDeploymentId: string }
  | { action: "none"; reason: "pause" | "unchanged" | "agent_stopped" | "rollback_failed" | "nothing_earlier" };

/** Pure: what the policy does for this failure, given the last successful deployment (if any). */
export function decide(
  policy: FailurePolicy,
  failed: Pick<DeploymentRow, "rollback_of">,
  report: FailureReport,
  lastSucceeded: { id: string } | null,
): PolicyDecision {
  if (report.cause === "agent_stopped") return { action: "none", reason: "agent_stopped" };
  if (report.stackChanged !== true) return { action: "none", reason: "unchanged" };
  if (policy === "pause") return { action: "none", reason: "pause" };
  if (failed.rollback_of !== null) return { action: "none", reason: "rollback_failed" };
  if (!lastSucceeded) return { action: "none", reason: "nothing_earlier" };
  return { action: "rollback", toDeploymentId: lastSucceeded.id };
}

const NO_ROLLBACK_LINE: Record<Exclude<PolicyDecision, { action: "rollback" }>["reason"], string> = {
  pause:
    "failure policy pause: the stack is left as the failure left it, for inspection; roll back or redeploy from the deployment page",
  unchanged: "nothing was changed on the swarm: the stack still runs what it ran before; no rollback is needed",
  agent_stopped:
    "the agent stopped mid-deploy: no automatic rollback; the stack may be mid-update until the next deployment",
  rollback_failed: "this automatic rollback failed too: no further rollback; the stack is left as it is for inspection",
  nothing_earlier:
    "failure policy rollback: the environment has no earlier successful deployment to go back to; the stack is left as it is",
};

export interface PolicyOutcome {
  /** Lines added to the failed deployment (after its terminal event). */
  events: DeploymentEventView[];
  /** The automatic rollback created, to enqueue after commit. */
  rollbackDeploymentId: string | null;
}

/** Applies the environment's failure policy to a deployment that just became FAILED (inside that transaction). */
export async function applyFailurePolicy(
  trx: Knex.Transaction,
  failed: DeploymentRow,
  report: FailureReport,
): Promise<PolicyOutcome> {
  const scope = systemScope(trx, failed.org_id, "event-writer");
  const env = (await scope
    .from("environments")
    .where({ id: failed.environment_id })
    .first("id", "name", "swarm_stack", "on_failure")) as
    { id: string; name: string; swarm_stack: string; on_failure: FailurePolicy } | undefined;
  if (!env) return { events: [], rollbackDeploymentId: null };
  const last = (await scope
    .from("deployments")
    .join("stack_releases", "stack_releases.id", "deployments.release_id")
    .where({ "deployments.environment_id": env.id, "deployments.status": "SUCCEEDED" })
    .orderBy("deployments.finished_at", "desc")
    .first("deployments.id", "deployments.release_id", "stack_releases.version")) as
    { id: string; release_id: string; version: number } | undefined;
  const decision = decide(env.on_failure, failed, report, last ?? null);

  if (decision.action === "none" || !last) {
    const reason = decision.action === "none" ? decision.reason : "nothing_earlier";
    const events = await appendEvents(trx, failed.org_id, failed.id, [
      {
        level: reason === "unchanged" ? "info" : "warn",
        message: NO_ROLLBACK_LINE[reason],
        data: { failurePolicy: env.on_failure, rollback: false, reason },
      },
    ]);
    return { events, rollbackDeploymentId: null };
  }

  const [row] = (await scope
    .insert("deployments", {
      environment_id: env.id,
      release_id: last.release_id,
      kind: "rollback",
      adopt: false,
      status: "PENDING",
      created_by: null,
      created_by_type: "system",
      rollback_of: failed.id,
    })
    .returning("*")) as DeploymentRow[];
  const rollback = row!;
  afterCommit(trx, () => publishDeploymentEvent({ ...rollback, release_version: last.version }));
  await appendEvents(trx, failed.org_id, rollback.id, [
    { level: "warn", message: ROLLBACK_WARNING, data: { rollback: true } },
    {
      level: "info",
      message: `queued: automatic rollback to release v${last.version} of environment ${env.name}, because deployment ${failed.id} failed (failure policy: rollback)`,
      data: {
        releaseId: last.release_id,
        releaseVersion: last.version,
        rollbackOf: failed.id,
        fromDeploymentId: last.id,
        by: "system",
      },
    },
  ]);
  await recordAudit(
    scope,
    {
      actorType: "system",
      actorId: null,
      action: AUTO_ROLLBACK_AUDIT_ACTION,
      targetType: "deployment",
      targetId: rollback.id,
      data: {
        environmentId: env.id,
        failedDeploymentId: failed.id,
        releaseId: last.release_id,
        releaseVersion: last.version,
        swarmStack: env.swarm_stack,
      },
    },
    { ip: null, userAgent: null },
  );
  const events = await appendEvents(trx, failed.org_id, failed.id, [
    {
      level: "warn",
      message: `failure policy rollback: rolling back to release v${last.version} (the last successful deployment) as deployment ${rollback.id}`,
      data: {
        failurePolicy: "rollback",
        rollback: true,
        rollbackDeploymentId: rollback.id,
        releaseId: last.release_id,
        releaseVersion: last.version,
      },
    },
  ]);
  return { events, rollbackDeploymentId: rollback.id };
}

/**
 * A deployment's dispatch record: its "dispatching" event, committed before the command leaves, and that event's
 * seq on the deployment row (`dispatch_seq`); the agent numbers its own events from the next one (`firstSeq`).
 *
 * Committed first because a worker can die after its command reached the agent. Had the event been in the dying
 * worker's open transaction, it would go back while the agent's events, numbered after it, arrive (a gap), and the
 * next worker would write a second dispatch at the next free seq: a number of the agent's range, so the agent's
 * own event there would be dropped. The next worker finds the record instead and sends the same numbers again.
 */
import type { Knex } from "knex";
import { appendEvents, lockDeploymentEvents, type NewEvent } from "./events.repo.js";
import { eventView, type DeploymentEventRow, type DeploymentEventView } from "./views.js";

/**
 * Writes the dispatching event and notes its seq on the deployment, with the compose being sent (what drift and
 * redeploys compare with once it succeeded, even when the agent's outcome is stored before anyone marked it
 * RUNNING); returns the event.
 */
export async function recordDispatch(
  trx: Knex.Transaction,
  orgId: string,
  deploymentId: string,
  renderedYaml: string,
  event: Omit<NewEvent, "seq">,
): Promise<DeploymentEventView> {
  const [written] = await appendEvents(trx, orgId, deploymentId, [event]);
  if (!written) throw new Error(`the dispatching event of deployment ${deploymentId} was not stored`);
  await trx("deployments")
    .where({ id: deploymentId })
    .update({ dispatch_seq: written.seq, rendered_yaml: renderedYaml });
  return written;
}

/** The dispatching event an earlier attempt committed (null if it is gone). */
export async function dispatchEvent(
  db: Knex | Knex.Transaction,
  deploymentId: string,
  seq: number,
): Promise<DeploymentEventView | null> {
  const row = (await db("deployment_events").where({ deployment_id: deploymentId, seq }).first()) as
    DeploymentEventRow | undefined;
  return row ? eventView(row) : null;
}

/** Whether the agent's events follow the dispatch: it got a command for this deployment and started it. */
export async function agentHasReported(
  db: Knex | Knex.Transaction,
  deploymentId: string,
  dispatchSeq: number,
): Promise<boolean> {
  const later = await db("deployment_events")
    .where({ deployment_id: deploymentId })
    .where("seq", ">", dispatchSeq)
    .first("seq");
  return later !== undefined;
}

/**
 * Takes back a dispatch the agent certainly did not get (NATS had no subscriber for the command), so that the
 * waiting line takes its number and a later dispatch is the only one. Refused (false) once anything follows it.
 */
export async function withdrawDispatch(
  trx: Knex.Transaction,
  deploymentId: string,
  dispatchSeq: number,
): Promise<boolean> {
  await lockDeploymentEvents(trx, deploymentId);
  if (await agentHasReported(trx, deploymentId, dispatchSeq)) return false;
  await trx("deployment_events").where({ deployment_id: deploymentId, seq: dispatchSeq }).delete();
  await trx("deployments").where({ id: deploymentId, dispatch_seq: dispatchSeq }).update({ dispatch_seq: null });
  return true;
}

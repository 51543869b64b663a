/**
 * What a deployment says while it waits for an offline agent: one line when the wait begins (since when the
 * agent is offline, and the deadline after which the deployment fails), then an update at most every
 * WAIT_UPDATE_INTERVAL_MS with the time left — not a line per retry.
 */
import type { Knex } from "knex";
import { appendEvents } from "./events.repo.js";
import type { DeploymentEventView } from "./views.js";

export const WAIT_UPDATE_INTERVAL_MS = 30_000;
export const WAITING_MESSAGE_PREFIX = "waiting for the cluster's agent to connect";

export interface AgentWait {
  orgId: string;
  deploymentId: string;
  createdAt: Date;
  /** DEPLOY_AGENT_WAIT_SECONDS as milliseconds. */
  waitTtlMs: number;
  /** When the agent was last heard from (null: never). */
  offlineSince: string | null;
  /** The cluster is link_down: its leaf-mode site is cut off from the hub, not necessarily stopped. */
  linkDown?: boolean;
}

/** Appends the waiting line or its periodic update when one is due; returns what was written. */
export async function noteAgentWait(
  trx: Knex.Transaction,
  wait: AgentWait,
  now = Date.now(),
): Promise<DeploymentEventView[]> {
  const last = (await trx("deployment_events")
    .where({ deployment_id: wait.deploymentId })
    .whereRaw("(data_json ->> 'waitingForAgent') = 'true'")
    .orderBy("seq", "desc")
    .first("ts")) as { ts: Date } | undefined;
  if (last && now - last.ts.getTime() < WAIT_UPDATE_INTERVAL_MS) return [];
  const deadline = new Date(wait.createdAt.getTime() + wait.waitTtlMs);
  const secondsLeft = Math.max(0, Math.round((deadline.getTime() - now) / 1000));
  const since = !wait.offlineSince
    ? " (it has never connected)"
    : wait.linkDown
      ? ` (its site's link to the hub is down since ${wait.offlineSince}; the command cannot reach it)`
      : ` (offline since ${wait.offlineSince})`;
  const message = last
    ? `still waiting for the cluster's agent${since}: ${secondsLeft} s left, the deployment fails at ${deadline.toISOString()}`
    : `${WAITING_MESSAGE_PREFIX}${since}: the deployment starts when it does, or fails at ${deadline.toISOString()} (in ${secondsLeft} s)`;
  return appendEvents(trx, wait.orgId, wait.deploymentId, [
    {
      level: "warn",
      message,
      data: { waitingForAgent: true, deadline: deadline.toISOString(), secondsLeft, offlineSince: wait.offlineSince },
    },
  ]);
}

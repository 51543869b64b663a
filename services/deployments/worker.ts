/**
 * The deployment worker: takes jobs from the JetStream work queue and dispatches each deployment to its
 * cluster's agent exactly once. One deployment per environment runs at a time; later ones wait their turn
 * (FIFO), and a job whose deployment is no longer PENDING (a redelivery) is dropped.
 */
import type { NatsConnection } from "nats";
import type { Db } from "../_shared/db.js";
import { AgentRejectedError, AgentUnreachableError, sendAgentCommand } from "../_shared/agent-commands.js";
import { AppError } from "../_shared/errors.js";
import type { MasterKeys } from "../_shared/master-keys.js";
import {
  buildDeployCommand,
  type DeployCommand,
  type DeploymentContext,
  DeployPolicyRefusedError,
  lastDeployedRelease,
  loadDeploymentContext,
} from "./desired-state.js";
import { agentHasReported, dispatchEvent, recordDispatch, withdrawDispatch } from "./dispatch.js";
import { noteAgentWait } from "./agent-wait.js";
import { agentPresence } from "../clusters/index.js";
import { systemScope } from "../_shared/tenant.js";
import { finishDeployment, transition } from "./lifecycle.js";
import type { DeploymentEventView } from "./views.js";
import { LEAF_EVENTS_MAX_AGE_MS } from "../../nats/protocol/subjects.js";

export type JobOutcome = "done" | "busy" | "retry";

export interface WorkerDeps {
  db: Db;
  nc: NatsConnection;
  masterKeys: MasterKeys;
  commandSigningSeed: string;
  /** How long a deployment may wait for an offline agent before it fails. */
  agentWaitTtlMs: number;
  /** A cluster whose last heartbeat is older than this is offline (for the waiting line's "offline since"). */
  offlineAfterSeconds: number;
  dispatchTimeoutMs: number;
  /** Versions of each secret the agent keeps on the swarm after a successful deploy (current one included). */
  keepSecretVersions: number;
  /** Called with events written here, for live streaming. */
  onEvents(deploymentId: string, events: DeploymentEventView[], status: string | null): void;
}

/**
 * What the locked first step decided: an outcome already; an earlier dispatch the agent has reported on since;
 * or a committed dispatch to send.
 */
type Prepared =
  | { kind: "outcome"; outcome: JobOutcome }
  | { kind: "reported"; dispatched: DeploymentEventView | null }
  | {
      kind: "send";
      command: DeployCommand;
      previous: Awaited<ReturnType<typeof lastDeployedRelease>>;
      queuedAt: Date;
      dispatchSeq: number;
      /** The dispatching event (null only if an earlier attempt's is gone); broadcast once the agent has it. */
      dispatched: DeploymentEventView | null;
      /** Written by this attempt; false: an earlier attempt (a worker that died) wrote it and may have sent it. */
      fresh: boolean;
    };

/**
 * Dispatches one deployment: under the environment lock, checks it may start and commits the dispatching event
 * (dispatch.ts); then, with no transaction open, sends the command; then marks it RUNNING. A job that an earlier
 * worker already dispatched is sent again with the same numbers (the agent answers `duplicate` if it has it), or
 * not at all when the agent's events already follow the dispatch.
 */
export async function processDeployJob(deps: WorkerDeps, deploymentId: string): Promise<JobOutcome> {
  const ctx = await loadDeploymentContext(deps.db, deploymentId);
  if (!ctx) return "done";
  const prepared = await prepareDispatch(deps, ctx);
  if (prepared.kind === "outcome") return prepared.outcome;
  if (prepared.kind === "reported") return markRunning(deps, deploymentId, prepared.dispatched);
  try {
    const target = { orgId: ctx.orgId, clusterId: ctx.clusterId };
    const payload = { ...prepared.command.payload, firstSeq: prepared.dispatchSeq + 1 };
    const opts = { timeoutMs: deps.dispatchTimeoutMs };
    if (ctx.kind === "rollback") {
      const rollback = {
        ...payload,
        targetReleaseId: ctx.releaseId,
        fromReleaseId: prepared.previous?.releaseId ?? null,
      };
      await sendAgentCommand(deps.nc, deps.commandSigningSeed, target, "RollbackStack", rollback, opts);
    } else {
      await sendAgentCommand(deps.nc, deps.commandSigningSeed, target, "DeployStack", payload, opts);
    }
  } catch (err) {
    if (err instanceof AgentUnreachableError) return awaitAgent(deps, ctx, prepared, err);
    const code = err instanceof AgentRejectedError ? err.agentCode : err instanceof AppError ? err.type : null;
    await deps.db.transaction((trx) =>
      finishDeployment(
        trx,
        {
          orgId: ctx.orgId,
          deploymentId,
          status: "FAILED",
          errorMessage: `the agent refused the deployment: ${(err as Error).message}`,
          level: "error",
          ...(code ? { errorCode: code } : {}),
        },
        deps.onEvents,
      ),
    );
    return "done";
  }
  return markRunning(deps, deploymentId, prepared.dispatched);
}

async function prepareDispatch(deps: WorkerDeps, ctx: DeploymentContext): Promise<Prepared> {
  const { db } = deps;
  const { deploymentId } = ctx;
  const outcome = (o: JobOutcome): Prepared => ({ kind: "outcome", outcome: o });
  return db.transaction(async (trx): Promise<Prepared> => {
    // The environment row lock makes dispatch of one environment's deployments strictly one at a time.
    await trx("environments").where({ id: ctx.environmentId }).forUpdate().first("id");
    const dep = await trx("deployments").where({ id: deploymentId }).first<
      | {
          status: string;
          created_at: Date;
          approval_decided_at: Date | null;
          dispatch_seq: number | null;
        }
      | undefined
    >("status", "created_at", "approval_decided_at", "dispatch_seq");
    if (!dep || dep.status !== "PENDING") return outcome("done");
    const ahead = await trx("deployments")
      .where({ environment_id: ctx.environmentId })
      .where((q) =>
        q
          .where("status", "RUNNING")
          .orWhere((p) => p.where("status", "PENDING").where("created_at", "<", dep.created_at)),
      )
      .first("id");
    if (ahead) return outcome("busy");
    // A worker that died after sending: the agent's events follow its dispatch, so the agent runs it (no deadline
    // or policy applies any more, and nothing is sent again).
    if (dep.dispatch_seq !== null && (await agentHasReported(trx, deploymentId, Number(dep.dispatch_seq)))) {
      return { kind: "reported", dispatched: await dispatchEvent(trx, deploymentId, Number(dep.dispatch_seq)) };
    }

    const fail = async (
      message: string,
      extra: { errorCode?: string; data?: Record<string, unknown>; policyViolations?: unknown[] } = {},
    ): Promise<Prepared> => {
      const ending = {
        orgId: ctx.orgId,
        deploymentId,
        status: "FAILED",
        errorMessage: message,
        level: "error",
        ...extra,
      } as const;
      await finishDeployment(trx, ending, deps.onEvents);
      return outcome("done");
    };

    // A deployment that waited for approval waits for its agent from the approval on, not from its creation.
    const queuedAt = dep.approval_decided_at ?? dep.created_at;
    if (Date.now() - queuedAt.getTime() > deps.agentWaitTtlMs) {
      return fail(
        `agent offline: the cluster's agent did not connect within ${Math.round(deps.agentWaitTtlMs / 1000)} s`,
      );
    }
    let command: DeployCommand;
    const previous = await lastDeployedRelease(db, ctx.environmentId);
    try {
      command = await buildDeployCommand(db, deps.masterKeys, ctx, previous?.services ?? null, {
        keepSecretVersions: deps.keepSecretVersions,
      });
    } catch (err) {
      if (err instanceof DeployPolicyRefusedError) {
        return fail(err.message, {
          errorCode: err.type,
          data: { violations: err.violations },
          policyViolations: err.violations,
        });
      }
      return fail((err as Error).message, err instanceof AppError ? { errorCode: err.type } : {});
    }
    const send = { kind: "send", command, previous, queuedAt } as const;
    if (dep.dispatch_seq !== null) {
      const dispatchSeq = Number(dep.dispatch_seq);
      return { ...send, dispatchSeq, dispatched: await dispatchEvent(trx, deploymentId, dispatchSeq), fresh: false };
    }
    const dispatched = await recordDispatch(trx, ctx.orgId, deploymentId, command.payload.composeYaml, {
      level: "info",
      message:
        `dispatching ${ctx.kind === "rollback" ? "a rollback to " : ""}release v${ctx.releaseVersion} of stack ${ctx.stackName} to the agent (Swarm stack ${ctx.swarmStack})` +
        (command.pinned
          ? `, with the exact images of deployment ${command.pinned.fromDeploymentId} (${command.pinned.images.map((i) => `${i.service}=${i.pinned}`).join(", ")})`
          : ""),
      data: {
        command: ctx.kind === "rollback" ? "RollbackStack" : "DeployStack",
        secrets: command.payload.secrets.length,
        prune: command.payload.prune,
        swarmStack: ctx.swarmStack,
        resolveImage: command.payload.resolveImage,
        ...(ctx.adopt ? { adopt: true } : {}),
        ...(command.pinned ? { pinnedFrom: command.pinned.fromDeploymentId, pinnedImages: command.pinned.images } : {}),
      },
    });
    return { ...send, dispatchSeq: dispatched.seq, dispatched, fresh: true };
  });
}

/** The agent has the command: RUNNING (unless its outcome was stored first), and the dispatch streamed. */
async function markRunning(
  deps: WorkerDeps,
  deploymentId: string,
  dispatched: DeploymentEventView | null,
): Promise<JobOutcome> {
  await transition(deps.db, deploymentId, "RUNNING");
  if (dispatched) deps.onEvents(deploymentId, [dispatched], "RUNNING");
  return "done";
}

/**
 * The agent did not answer. Only when NATS had no subscriber for this attempt's own command is it certain the
 * agent has none: the dispatch is taken back and the wait said (agent-wait.ts). After a timeout, or for a dispatch
 * an earlier worker sent, the agent may hold the command: the seqs after the dispatch are its own, so nothing is
 * written, and the next try sends the same command again.
 */
async function awaitAgent(
  deps: WorkerDeps,
  ctx: DeploymentContext,
  sent: Extract<Prepared, { kind: "send" }>,
  err: AgentUnreachableError,
): Promise<JobOutcome> {
  if (err.reason !== "not_connected" || !sent.fresh) return "retry";
  const events = await deps.db.transaction(async (trx) => {
    if (!(await withdrawDispatch(trx, ctx.deploymentId, sent.dispatchSeq))) return [];
    // Said once when the wait begins, then as a countdown every WAIT_UPDATE_INTERVAL_MS, not on every retry.
    const presence = await agentPresence(
      systemScope(trx, ctx.orgId, "deploy-worker"),
      ctx.clusterId,
      deps.offlineAfterSeconds,
    );
    return noteAgentWait(trx, {
      orgId: ctx.orgId,
      deploymentId: ctx.deploymentId,
      createdAt: sent.queuedAt,
      waitTtlMs: deps.agentWaitTtlMs,
      offlineSince: presence.lastSeenAt,
      linkDown: presence.status === "link_down",
    });
  });
  if (events.length > 0) deps.onEvents(ctx.deploymentId, events, null);
  return "retry";
}

/** How much later than a deployment's start its agent must have started to count as restarted since (clock jitter). */
export const AGENT_RESTART_MARGIN_SECONDS = 2;

/**
 * RUNNING deployments whose agent restarted since they started end FAILED at once: the agent tracks a deployment
 * in its process only and does not resume it, so no outcome will come. The stack is left as Swarm has it.
 */
async function failDeploymentsOfRestartedAgents(db: Db, onEvents: WorkerDeps["onEvents"]): Promise<number> {
  const lost = await db("deployments as d")
    .join("environments as e", "e.id", "d.environment_id")
    .join("clusters as c", "c.id", "e.cluster_id")
    .where("d.status", "RUNNING")
    .whereRaw("c.facts_json->>'agentStartedAt' IS NOT NULL")
    .whereRaw("(c.facts_json->>'agentStartedAt')::timestamptz > d.started_at + make_interval(secs => ?)", [
      AGENT_RESTART_MARGIN_SECONDS,
    ])
    .select<Array<{ id: string; org_id: string; agent_started_at: string }>>(
      "d.id",
      "d.org_id",
      db.raw("c.facts_json->>'agentStartedAt' AS agent_started_at"),
    );
  for (const d of lost) {
    const message =
      `agent restarted mid-deploy (its new process started at ${d.agent_started_at}): it does not resume a ` +
      "deployment, so the outcome is unknown; the stack is left as Swarm has it: check its services or deploy again";
    await db.transaction((trx) =>
      finishDeployment(
        trx,
        { orgId: d.org_id, deploymentId: d.id, status: "FAILED", errorMessage: message, level: "error" },
        onEvents,
      ),
    );
  }
  return lost.length;
}

/**
 * RUNNING deployments that can no longer end on their own end FAILED instead of hanging forever: those whose agent
 * restarted since they started, and those whose agent went silent past their timeout.
 *
 * Not while their cluster is `link_down`: its leaf-mode site is cut off from the hub, not known to be down, and a
 * deploy there goes on; the agent ends it within its own timeout and the outcome waits in the leaf's JetStream for
 * the link (LEAF_EVENTS_MAX_AGE_MS, after which the leaf has dropped it and the deployment fails as any other).
 * When the link returns and the agent is back, the outcome arrives; when only the link returns (the cluster turns
 * `offline`: the agent is down), the deployment fails here at the next sweep.
 */
export async function failStaleDeployments(
  db: Db,
  graceSeconds: number,
  onEvents: WorkerDeps["onEvents"],
): Promise<number> {
  const restarted = await failDeploymentsOfRestartedAgents(db, onEvents);
  const stale = await db("deployments as d")
    .join("environments as e", "e.id", "d.environment_id")
    .join("clusters as c", "c.id", "e.cluster_id")
    .where("d.status", "RUNNING")
    .whereRaw("d.started_at < now() - make_interval(secs => e.deploy_timeout_seconds + ?)", [graceSeconds])
    .where((q) =>
      q
        .whereNot("c.status", "link_down")
        .orWhereRaw("d.started_at < now() - make_interval(secs => ?)", [LEAF_EVENTS_MAX_AGE_MS / 1000]),
    )
    .select<Array<{ id: string; org_id: string }>>("d.id", "d.org_id");
  for (const d of stale) {
    const message =
      "no result from the agent within the deploy timeout: the agent restarted or lost its connection mid-deploy";
    await db.transaction((trx) =>
      finishDeployment(
        trx,
        { orgId: d.org_id, deploymentId: d.id, status: "FAILED", errorMessage: message, level: "error" },
        onEvents,
      ),
    );
  }
  return restarted + stale.length;
}

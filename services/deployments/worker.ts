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
  DeployPolicyRefusedError,
  lastDeployedRelease,
  loadDeploymentContext,
} from "./desired-state.js";
import { appendEvents } from "./events.repo.js";
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

export async function processDeployJob(deps: WorkerDeps, deploymentId: string): Promise<JobOutcome> {
  const { db } = deps;
  const ctx = await loadDeploymentContext(db, deploymentId);
  if (!ctx) return "done";
  return db.transaction(async (trx) => {
    // The environment row lock makes dispatch of one environment's deployments strictly one at a time.
    await trx("environments").where({ id: ctx.environmentId }).forUpdate().first("id");
    const dep = await trx("deployments")
      .where({ id: deploymentId })
      .first<{ status: string; created_at: Date; approval_decided_at: Date | null } | undefined>(
        "status",
        "created_at",
        "approval_decided_at",
      );
    if (!dep || dep.status !== "PENDING") return "done";
    const ahead = await trx("deployments")
      .where({ environment_id: ctx.environmentId })
      .where((q) =>
        q
          .where("status", "RUNNING")
          .orWhere((p) => p.where("status", "PENDING").where("created_at", "<", dep.created_at)),
      )
      .first("id");
    if (ahead) return "busy";

    const fail = async (
      message: string,
      extra: { errorCode?: string; data?: Record<string, unknown>; policyViolations?: unknown[] } = {},
    ): Promise<JobOutcome> => {
      const ending = {
        orgId: ctx.orgId,
        deploymentId,
        status: "FAILED",
        errorMessage: message,
        level: "error",
        ...extra,
      } as const;
      await finishDeployment(trx, ending, deps.onEvents);
      return "done";
    };

    // A deployment that waited for approval waits for its agent from the approval on, not from its creation.
    const queuedAt = dep.approval_decided_at ?? dep.created_at;
    if (Date.now() - queuedAt.getTime() > deps.agentWaitTtlMs) {
      return fail(
        `agent offline: the cluster's agent did not connect within ${Math.round(deps.agentWaitTtlMs / 1000)} s`,
      );
    }
    let command;
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
    let dispatched: DeploymentEventView | undefined;
    try {
      // A savepoint: when the agent cannot be reached, the "dispatching" event goes back with it.
      dispatched = await trx.transaction(async (sp) => {
        const [event] = await appendEvents(sp, ctx.orgId, deploymentId, [
          {
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
              ...(command.pinned
                ? { pinnedFrom: command.pinned.fromDeploymentId, pinnedImages: command.pinned.images }
                : {}),
            },
          },
        ]);
        const target = { orgId: ctx.orgId, clusterId: ctx.clusterId };
        const payload = { ...command.payload, firstSeq: (event?.seq ?? 0) + 1 };
        const opts = { timeoutMs: deps.dispatchTimeoutMs };
        if (ctx.kind === "rollback") {
          const rollback = { ...payload, targetReleaseId: ctx.releaseId, fromReleaseId: previous?.releaseId ?? null };
          await sendAgentCommand(deps.nc, deps.commandSigningSeed, target, "RollbackStack", rollback, opts);
        } else {
          await sendAgentCommand(deps.nc, deps.commandSigningSeed, target, "DeployStack", payload, opts);
        }
        return event;
      });
    } catch (err) {
      if (err instanceof AgentUnreachableError) {
        // Said once when the wait begins, then as a countdown every WAIT_UPDATE_INTERVAL_MS, not on every retry.
        const presence = await agentPresence(
          systemScope(trx, ctx.orgId, "deploy-worker"),
          ctx.clusterId,
          deps.offlineAfterSeconds,
        );
        const events = await noteAgentWait(trx, {
          orgId: ctx.orgId,
          deploymentId,
          createdAt: queuedAt,
          waitTtlMs: deps.agentWaitTtlMs,
          offlineSince: presence.lastSeenAt,
          linkDown: presence.status === "link_down",
        });
        if (events.length > 0) deps.onEvents(deploymentId, events, null);
        return "retry";
      }
      const code = err instanceof AgentRejectedError ? err.agentCode : err instanceof AppError ? err.type : null;
      return fail(`the agent refused the deployment: ${(err as Error).message}`, code ? { errorCode: code } : {});
    }
    await transition(trx, deploymentId, "RUNNING");
    await trx("deployments").where({ id: deploymentId }).update({ rendered_yaml: command.payload.composeYaml });
    if (dispatched) deps.onEvents(deploymentId, [dispatched], "RUNNING");
    return "done";
  });
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

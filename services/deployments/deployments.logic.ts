/** Creating, listing, cancelling and rolling back deployments — the REST side; execution lives in worker.ts. */
import { createHash } from "node:crypto";
import { ConflictError, NotFoundError, UnprocessableError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import { afterCommit } from "../_shared/after-commit.js";
import { appendEvents } from "./events.repo.js";
import { publishDeploymentEvent } from "./integration-events.js";
import { finishDeployment } from "./lifecycle.js";
import { deploymentView, type DeploymentRow, type DeploymentView } from "./views.js";
import { findEnvironment } from "../stacks/index.js";

export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
export const ROLLBACK_WARNING =
  "rollback restores the services of an older release; volumes and data are NOT rolled back";

export async function findDeployment(scope: TenantScope, deploymentId: string, lock = false): Promise<DeploymentRow> {
  const q = scope.from<DeploymentRow>("deployments").where({ id: deploymentId });
  if (lock) q.forUpdate();
  const row = (await q.first()) as DeploymentRow | undefined;
  if (!row) throw new NotFoundError("DEPLOYMENT_NOT_FOUND", "no such deployment");
  return row;
}

async function releaseOfStack(
  scope: TenantScope,
  stackId: string,
  releaseId: string,
): Promise<{ id: string; version: number }> {
  const release = (await scope
    .from("stack_releases")
    .where({ id: releaseId, stack_id: stackId })
    .first("id", "version", "build_status")) as
    { id: string; version: number; build_status: string | null } | undefined;
  if (!release) throw new NotFoundError("RELEASE_NOT_FOUND", "no such release of this environment's stack");
  // A release built from source deploys only once its images are pushed and its compose frozen with their digests.
  if (release.build_status !== null && release.build_status !== "ready") {
    throw new ConflictError(
      "RELEASE_NOT_READY",
      `release v${release.version} is ${release.build_status}: only a release whose build succeeded can be deployed`,
      { releaseId: release.id, state: release.build_status },
    );
  }
  return { id: release.id, version: release.version };
}

const requestHash = (body: unknown): string => createHash("sha256").update(JSON.stringify(body)).digest("hex");

export interface CreateDeploymentInput {
  environmentId: string;
  releaseId: string;
  kind: "deploy" | "rollback";
  idempotencyKey: string | null;
  /** Take over the environment's Swarm stack even when its services are not labelled as this environment's. */
  adopt?: boolean;
  /**
   * An auto-sync deploy (auto-sync.ts): refused with ENVIRONMENT_PINNED unless, under the environment's lock, it
   * still follows this source and is not pinned; its events and audit row name the commit.
   */
  sync?: { sourceId: string; commit: string | null };
  /** A manual rollback: pins the environment when it syncs automatically (in the same transaction). */
  pinOnRollback?: boolean;
  /** A promotion (promotion.ts): the source environment's deployment whose release this deploys. */
  promotedFrom?: { deploymentId: string; environmentName: string };
}

/** Who creates a deployment: a caller, or the control plane's auto-sync (`actorType` system). */
export interface DeploymentActor {
  actorType: "user" | "token" | "system";
  actorId: string | null;
  email: string;
}

export const AUTO_SYNC_ACTOR: DeploymentActor = { actorType: "system", actorId: "git-sync", email: "auto-sync" };

export class EnvironmentPinnedError extends ConflictError {
  constructor(reason: string) {
    super("ENVIRONMENT_PINNED", `the environment is pinned (${reason}); unpin it to resume automatic sync`, {
      reason,
    });
  }
}

export interface CreatedDeployment {
  deployment: DeploymentView & { autoSyncPinned?: { reason: string } };
  /** True when an earlier request with the same idempotency key created it. */
  replayed: boolean;
}

export async function createDeployment(
  scope: TenantScope,
  principal: DeploymentActor,
  input: CreateDeploymentInput,
  request: RequestInfo,
): Promise<CreatedDeployment> {
  return scope.transaction(async (tx) => {
    const trx = tx.db;
    const fingerprint = requestHash({
      environmentId: input.environmentId,
      releaseId: input.releaseId,
      kind: input.kind,
      ...(input.adopt ? { adopt: true } : {}),
      ...(input.promotedFrom ? { promotedFrom: input.promotedFrom.deploymentId } : {}),
    });
    if (input.idempotencyKey) {
      // Same-key requests wait for each other, so exactly one creates the deployment.
      await trx.raw("select pg_advisory_xact_lock(hashtext(?))", [`${scope.orgId}:${input.idempotencyKey}`]);
      const existing = (await tx.from("deployment_idempotency_keys").where({ key: input.idempotencyKey }).first()) as
        { request_hash: string; deployment_id: string; expires_at: Date } | undefined;
      if (existing && existing.expires_at > new Date()) {
        if (existing.request_hash !== fingerprint) {
          throw new UnprocessableError(
            "IDEMPOTENCY_KEY_REUSED",
            "this Idempotency-Key was used for a different request",
          );
        }
        return { deployment: deploymentView(await findDeployment(tx, existing.deployment_id)), replayed: true };
      }
      if (existing) await tx.from("deployment_idempotency_keys").where({ key: input.idempotencyKey }).delete();
    }
    const env = await findEnvironment(tx, input.environmentId);
    if (input.sync) {
      const current = (await tx
        .from("environments")
        .where({ id: env.id })
        .forUpdate()
        .first("sync_mode", "sync_source_id", "pinned_reason")) as {
        sync_mode: string;
        sync_source_id: string | null;
        pinned_reason: string | null;
      };
      if (current.pinned_reason !== null) throw new EnvironmentPinnedError(current.pinned_reason);
      if (current.sync_mode !== "automatic" || current.sync_source_id !== input.sync.sourceId) {
        throw new ConflictError("ENVIRONMENT_NOT_SYNCED", "the environment no longer follows this source");
      }
    }
    const release = await releaseOfStack(tx, env.stack_id, input.releaseId);
    const adopt = input.adopt === true;
    if (!adopt) await refuseForeignSwarmStack(tx, env);
    // Manual deploys, rollbacks, promotions and auto-sync deploys all wait when the environment requires approval;
    // only the failure policy's automatic rollback (failure-policy.ts) does not: it restores what already ran.
    const status = initialStatus(env);
    const [row] = (await tx
      .insert("deployments", {
        environment_id: env.id,
        release_id: release.id,
        kind: input.kind,
        adopt,
        status,
        created_by: principal.actorId,
        created_by_type: principal.actorType,
        promoted_from_deployment_id: input.promotedFrom?.deploymentId ?? null,
      })
      .returning("*")) as DeploymentRow[];
    const deployment = row!;
    afterCommit(trx, () => publishDeploymentEvent({ ...deployment, release_version: release.version }));
    if (input.idempotencyKey) {
      await tx.insert("deployment_idempotency_keys", {
        key: input.idempotencyKey,
        request_hash: fingerprint,
        deployment_id: deployment.id,
        expires_at: new Date(Date.now() + IDEMPOTENCY_TTL_SECONDS * 1000),
      });
    }
    const events: Array<{ level: "info" | "warn"; message: string; data?: Record<string, unknown> }> = [];
    if (input.kind === "rollback") events.push({ level: "warn", message: ROLLBACK_WARNING, data: { rollback: true } });
    const what = input.promotedFrom
      ? `promotion of release v${release.version} from environment ${input.promotedFrom.environmentName}`
      : `${input.kind} of release v${release.version}`;
    events.push({
      level: "info",
      message:
        status === "AWAITING_APPROVAL"
          ? `awaiting approval: ${what} to environment ${env.name} (approval by a ${env.approval_role} other than the requester)`
          : `queued: ${what} to environment ${env.name}`,
      data: {
        releaseId: release.id,
        releaseVersion: release.version,
        by: principal.email,
        ...(input.sync ? { syncSourceId: input.sync.sourceId, commit: input.sync.commit } : {}),
        ...(input.promotedFrom ? { promotedFrom: input.promotedFrom.deploymentId } : {}),
        ...(status === "AWAITING_APPROVAL" ? { approvalRole: env.approval_role } : {}),
      },
    });
    let autoSyncPinned: { reason: string } | undefined;
    if (input.kind === "rollback" && input.pinOnRollback) {
      const reason = `manual rollback to release v${release.version} by ${principal.email}`;
      const pinned = await tx
        .from("environments")
        .where({ id: env.id, sync_mode: "automatic" })
        .whereNull("pinned_at")
        .update({ pinned_at: trx.fn.now(), pinned_reason: reason, pinned_by: principal.email })
        .returning("id");
      if (pinned.length > 0) {
        autoSyncPinned = { reason };
        events.push({
          level: "warn",
          message: `automatic sync of ${env.name} is paused: the environment is pinned (${reason}); unpin it to resume from the newest commit`,
          data: { pinned: true },
        });
        await recordAudit(
          tx,
          {
            actorType: principal.actorType,
            actorId: principal.actorId,
            action: "environment.pin",
            targetType: "environment",
            targetId: env.id,
            data: { reason, automatic: true, deploymentId: deployment.id },
          },
          request,
        );
      }
    }
    await appendEvents(trx, scope.orgId, deployment.id, events);
    await recordAudit(
      tx,
      {
        actorType: principal.actorType,
        actorId: principal.actorId,
        action: input.sync
          ? "deployment.auto_sync"
          : input.promotedFrom
            ? "deployment.promote"
            : input.kind === "rollback"
              ? "deployment.rollback"
              : "deployment.create",
        targetType: "deployment",
        targetId: deployment.id,
        data: {
          environmentId: env.id,
          releaseId: release.id,
          releaseVersion: release.version,
          swarmStack: env.swarm_stack,
          ...(adopt ? { adopt: true } : {}),
          ...(input.sync ? { syncSourceId: input.sync.sourceId, commit: input.sync.commit } : {}),
          ...(input.promotedFrom ? { promotedFrom: input.promotedFrom.deploymentId } : {}),
          ...(status === "AWAITING_APPROVAL" ? { awaitingApproval: true, approvalRole: env.approval_role } : {}),
        },
      },
      request,
    );
    if (adopt) {
      await recordAudit(
        tx,
        {
          actorType: principal.actorType,
          actorId: principal.actorId,
          action: "environment.adopt_swarm_stack",
          targetType: "environment",
          targetId: env.id,
          data: { swarmStack: env.swarm_stack, deploymentId: deployment.id },
        },
        request,
      );
    }
    return {
      deployment: {
        ...deploymentView({ ...deployment, release_version: release.version }),
        ...(autoSyncPinned ? { autoSyncPinned } : {}),
      },
      replayed: false,
    };
  });
}

/** A deployment to an environment that requires approval waits for it; any other is queued at once. */
export const initialStatus = (env: { approval_required: boolean }): "AWAITING_APPROVAL" | "PENDING" =>
  env.approval_required ? "AWAITING_APPROVAL" : "PENDING";

export class SwarmStackNotOwnedError extends ConflictError {
  constructor(swarmStack: string, services: string[]) {
    super(
      "SWARM_STACK_NOT_OWNED",
      `the Swarm stack "${swarmStack}" on the cluster has services that are not this environment's (${services.join(", ")}): deploy with adopt: true to take it over`,
      { swarmStack, services },
    );
  }
}

/**
 * The REST-side pre-check from the cluster's last inventory: services of the environment's Swarm stack labelled
 * for another environment (or for none) refuse the deploy now. The agent checks again against the live swarm.
 */
async function refuseForeignSwarmStack(
  scope: TenantScope,
  env: { id: string; cluster_id: string; swarm_stack: string },
) {
  // Filtered in Postgres: a large cluster's inventory is hundreds of kB of JSON that every deploy would otherwise
  // fetch and parse to find the few services of one stack.
  const rows = (await scope
    .from("clusters")
    .crossJoin(
      scope.db.raw("jsonb_array_elements(coalesce(clusters.inventory_json->'services', '[]'::jsonb)) as s(service)"),
    )
    .where("clusters.id", env.cluster_id)
    .whereRaw("s.service->>'stack' = ?", [env.swarm_stack])
    .whereRaw("(s.service->>'environmentId') is distinct from ?", [env.id])
    .select(scope.db.raw("s.service->>'name' as name"))) as Array<{ name: string }>;
  const foreign = rows.map((r) => r.name).sort();
  if (foreign.length > 0) throw new SwarmStackNotOwnedError(env.swarm_stack, foreign);
}

/** The release a rollback goes back to by default: the one deployed successfully before the current one. */
export async function previousSuccessfulRelease(scope: TenantScope, environmentId: string): Promise<string> {
  const succeeded = (await scope
    .from("deployments")
    .where({ environment_id: environmentId, status: "SUCCEEDED" })
    .orderBy("finished_at", "desc")
    .select("release_id")) as Array<{ release_id: string }>;
  const current = succeeded[0]?.release_id;
  const previous = succeeded.find((d) => d.release_id !== current);
  if (!previous)
    throw new ConflictError(
      "NOTHING_TO_ROLL_BACK",
      "this environment has no earlier successful release to roll back to",
    );
  return previous.release_id;
}

export async function listDeployments(
  scope: TenantScope,
  environmentId: string,
  opts: { limit: number; before?: string | undefined },
) {
  await findEnvironment(scope, environmentId);
  const q = scope
    .from<DeploymentRow>("deployments")
    .join("stack_releases", "stack_releases.id", "deployments.release_id")
    .where("deployments.environment_id", environmentId)
    .select("deployments.*", "stack_releases.version as release_version", rolledBackBy(scope));
  if (opts.before) q.where("deployments.created_at", "<", new Date(opts.before));
  const rows = (await q.orderBy("deployments.created_at", "desc").limit(opts.limit + 1)) as Array<
    DeploymentRow & { release_version: number }
  >;
  const page = rows.slice(0, opts.limit);
  return {
    items: page.map(deploymentView),
    nextBefore: rows.length > opts.limit ? (page[page.length - 1]?.created_at.toISOString() ?? null) : null,
  };
}

/** The automatic rollback created for a deployment, as a `rolled_back_by` column of a deployments query. */
function rolledBackBy(scope: TenantScope) {
  return scope.db.raw(
    "(select r.id from deployments r where r.rollback_of = deployments.id and r.org_id = deployments.org_id) as rolled_back_by",
  );
}

export async function getDeployment(scope: TenantScope, deploymentId: string): Promise<DeploymentView> {
  const row = (await scope
    .from<DeploymentRow>("deployments")
    .join("stack_releases", "stack_releases.id", "deployments.release_id")
    .where("deployments.id", deploymentId)
    .first("deployments.*", "stack_releases.version as release_version", rolledBackBy(scope))) as
    (DeploymentRow & { release_version: number; rolled_back_by: string | null }) | undefined;
  if (!row) throw new NotFoundError("DEPLOYMENT_NOT_FOUND", "no such deployment");
  return deploymentView(row);
}

/** Cancels a queued deployment outright; a running one is the caller's to stop on the agent first. */
export async function cancelPending(
  scope: TenantScope,
  principal: Principal,
  deployment: DeploymentRow,
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    const ended = await finishDeployment(tx.db, {
      orgId: scope.orgId,
      deploymentId: deployment.id,
      status: "CANCELED",
      errorMessage: `canceled by ${principal.email} before it started`,
      level: "warn",
      message: `canceled by ${principal.email} before it started; nothing was changed on the cluster`,
      current: deployment,
    });
    await recordAudit(
      tx,
      { ...actorOf(principal), action: "deployment.cancel", targetType: "deployment", targetId: deployment.id },
      request,
    );
    return ended!.row;
  });
}

/**
 * Auto-sync, the deployments side: brings the automatic, unpinned environments that follow a git source to the
 * source's newest release, through the normal deploy path (createDeployment: queued FIFO behind a running one,
 * audited as `deployment.auto_sync` with the commit). Pin and unpin live here too, since unpin deploys.
 */
import type { Db } from "../_shared/db.js";
import { ConflictError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import { systemScope, type TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import { findEnvironment } from "../stacks/index.js";
import { AUTO_SYNC_ACTOR, createDeployment, EnvironmentPinnedError } from "./deployments.logic.js";

const NO_REQUEST: RequestInfo = { ip: null, userAgent: null };

interface SourceState {
  id: string;
  last_release_id: string | null;
  last_commit: string | null;
}

/**
 * Creates one deployment per environment that needs the source's newest release, and returns their ids (to be
 * enqueued). An environment is left alone when its latest deployment already has that release, or — unless
 * `force` (unpin) — when auto-sync already deployed that release to it once (a failed one is not retried in a
 * loop against the failure policy's rollback).
 */
export async function autoSyncEnvironments(
  db: Db,
  orgId: string,
  sourceId: string,
  options: { environmentId?: string; force?: boolean } = {},
): Promise<string[]> {
  const scope = systemScope(db, orgId, "git-sync");
  const source = (await scope
    .from<SourceState>("git_sync_sources")
    .where({ id: sourceId })
    .first("id", "last_release_id", "last_commit")) as SourceState | undefined;
  if (!source?.last_release_id) return [];
  const target = source.last_release_id;
  let envs = scope
    .from("environments")
    .where({ sync_source_id: sourceId, sync_mode: "automatic" })
    .whereNull("pinned_at")
    .select<Array<{ id: string }>>("id");
  if (options.environmentId) envs = envs.andWhere({ id: options.environmentId });
  const created: string[] = [];
  for (const env of await envs) {
    if (!(await needsRelease(scope, env.id, target, options.force === true))) continue;
    try {
      const result = await createDeployment(
        scope,
        AUTO_SYNC_ACTOR,
        {
          environmentId: env.id,
          releaseId: target,
          kind: "deploy",
          idempotencyKey: null,
          sync: { sourceId, commit: source.last_commit },
        },
        NO_REQUEST,
      );
      // One awaiting approval is enqueued when it is approved (approvals.ts), not now.
      if (result.deployment.status === "PENDING") created.push(result.deployment.id);
    } catch (err) {
      // Pinned or switched to manual meanwhile: the environment's choice wins.
      if (
        err instanceof EnvironmentPinnedError ||
        (err instanceof ConflictError && err.type === "ENVIRONMENT_NOT_SYNCED")
      )
        continue;
      throw err;
    }
  }
  return created;
}

async function needsRelease(scope: TenantScope, envId: string, releaseId: string, force: boolean): Promise<boolean> {
  const latest = (await scope
    .from("deployments")
    .where({ environment_id: envId })
    .orderBy([
      { column: "created_at", order: "desc" },
      { column: "id", order: "desc" },
    ])
    .first("release_id")) as { release_id: string } | undefined;
  if (latest?.release_id === releaseId) return false;
  if (force) return true;
  const tried = await scope
    .from("deployments")
    .where({
      environment_id: envId,
      release_id: releaseId,
      created_by_type: "system",
      created_by: AUTO_SYNC_ACTOR.actorId,
    })
    .first("id");
  return tried === undefined;
}

export const PIN_REASON_MAX = 500;

export async function pinEnvironment(
  scope: TenantScope,
  principal: Principal,
  envId: string,
  reason: string,
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    await findEnvironment(tx, envId);
    await tx
      .from("environments")
      .where({ id: envId })
      .update({ pinned_at: tx.db.fn.now(), pinned_reason: reason, pinned_by: principal.email });
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "environment.pin",
        targetType: "environment",
        targetId: envId,
        data: { reason },
      },
      request,
    );
    return findEnvironment(tx, envId);
  });
}

/** Unpins and, for an automatic environment, deploys the source's newest release (and polls the source now). */
export async function unpinEnvironment(
  db: Db,
  scope: TenantScope,
  principal: Principal,
  envId: string,
  request: RequestInfo,
): Promise<{ deploymentIds: string[] }> {
  const env = await scope.transaction(async (tx) => {
    const row = await findEnvironment(tx, envId);
    const was = (await tx.from("environments").where({ id: envId }).first("pinned_reason")) as {
      pinned_reason: string | null;
    };
    if (was.pinned_reason === null) throw new ConflictError("ENVIRONMENT_NOT_PINNED", "the environment is not pinned");
    await tx
      .from("environments")
      .where({ id: envId })
      .update({ pinned_at: null, pinned_reason: null, pinned_by: null });
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "environment.unpin",
        targetType: "environment",
        targetId: envId,
        data: { previousReason: was.pinned_reason },
      },
      request,
    );
    return row as typeof row & { sync_mode?: string; sync_source_id?: string | null };
  });
  if (env.sync_mode !== "automatic" || !env.sync_source_id) return { deploymentIds: [] };
  await scope.from("git_sync_sources").where({ id: env.sync_source_id }).update({ next_poll_at: db.fn.now() });
  return {
    deploymentIds: await autoSyncEnvironments(db, scope.orgId, env.sync_source_id, {
      environmentId: envId,
      force: true,
    }),
  };
}

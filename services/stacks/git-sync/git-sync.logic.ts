/**
 * Git auto-sync, the stacks side: sources (CRUD), an environment's sync policy, the poll of one source (fetch,
 * compare the watched directory's tree id, freeze a release only when it changed), the claim of due sources
 * across replicas, and inbound webhooks. Deploying what a poll released is the deployments service's
 * (`deployments.autoSync`), through the normal deploy path.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { Db } from "../../_shared/db.js";
import { AppError, ConflictError, NotFoundError, UnprocessableError } from "../../_shared/errors.js";
import type { Principal, RequestInfo } from "../../_shared/principal.js";
import { systemDb, systemScope, type TenantScope } from "../../_shared/tenant.js";
import { actorOf, recordAudit } from "../../audit/index.js";
import { checkRepoUrl } from "../git-source.js";
import { fetchGitReleaseSource } from "../git-credentials/index.js";
import { freezeRelease, type ReleaseSettings } from "../releases.logic.js";
import { findEnvironment, findStack } from "../stacks.logic.js";
import { environmentView, type EnvironmentRow } from "../views.js";
import {
  decryptWebhookSecret,
  encryptWebhookSecret,
  syncSourceView,
  type SyncSourceRow,
  type SyncSourceView,
} from "./sources.repo.js";
import { verifyWebhook, WebhookSignatureError, type WebhookHeaders } from "./webhook-verify.js";
import { parsePullRequestEvent, type PullRequestEvent } from "./pull-request.js";
import type { OpBody } from "../../_shared/rest.js";

export interface GitSyncSettings {
  release: ReleaseSettings;
  publicUrl: string;
}

/** The default poll interval; the jitter spreads sources created together (±10 %). */
export const DEFAULT_POLL_INTERVAL_SECONDS = 60;
/** Accepted delivery ids are kept this long: a replay older than that would only trigger one more poll. */
export const WEBHOOK_DELIVERY_RETENTION_DAYS = 7;
const NO_REQUEST: RequestInfo = { ip: null, userAgent: null };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function findSource(scope: TenantScope, sourceId: string): Promise<SyncSourceRow> {
  const row = (await scope.from<SyncSourceRow>("git_sync_sources").where({ id: sourceId }).first()) as
    SyncSourceRow | undefined;
  if (!row) throw new NotFoundError("SYNC_SOURCE_NOT_FOUND", "git sync source not found");
  return row;
}

export async function createSyncSource(
  scope: TenantScope,
  principal: Principal,
  stackId: string,
  body: OpBody<"createSyncSource">,
  settings: GitSyncSettings,
  request: RequestInfo,
): Promise<SyncSourceView & { webhookSecret: string }> {
  const stack = await findStack(scope, stackId);
  checkRepoUrl(body.repoUrl, settings.release.gitAllowedSchemes);
  // One fetch now, as the caller: a wrong URL, ref, path or credential answers here (422) instead of in a
  // poller's error field, and an SSH host is trusted on first use by a person, audited, never by the poller.
  await fetchGitReleaseSource(
    scope,
    principal,
    { repoUrl: body.repoUrl, ref: body.ref, path: body.path, credentialId: body.credentialId },
    {
      maxBytes: settings.release.composeMaxBytes,
      timeoutMs: settings.release.gitTimeoutMs,
      allowedSchemes: settings.release.gitAllowedSchemes,
    },
    settings.release.gitCredentials,
    request,
  );
  const id = randomUUID();
  const webhookSecret = `whsec_${randomBytes(32).toString("base64url")}`;
  return scope.transaction(async (tx) => {
    const [row] = (await tx
      .insert("git_sync_sources", {
        id,
        stack_id: stack.id,
        repo_url: body.repoUrl,
        ref: body.ref,
        path: body.path.replace(/^(?:\.\/)+/, ""),
        credential_id: body.credentialId ?? null,
        poll_interval_seconds: body.pollIntervalSeconds ?? DEFAULT_POLL_INTERVAL_SECONDS,
        ...encryptWebhookSecret(settings.release.gitCredentials.masterKeys, webhookSecret, scope.orgId, id),
        created_by: principal.userId,
      })
      .returning("*")) as SyncSourceRow[];
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "git_sync_source.create",
        targetType: "stack",
        targetId: stack.id,
        data: { sourceId: id, repoUrl: body.repoUrl, ref: body.ref, path: row!.path },
      },
      request,
    );
    return { ...syncSourceView(row!, settings.publicUrl), webhookSecret };
  });
}

export async function listSyncSources(scope: TenantScope, stackId: string, publicUrl: string) {
  await findStack(scope, stackId);
  const rows = (await scope
    .from<SyncSourceRow>("git_sync_sources")
    .where({ stack_id: stackId })
    .orderBy("created_at")) as SyncSourceRow[];
  return { items: rows.map((r) => syncSourceView(r, publicUrl)) };
}

export async function getSyncSource(scope: TenantScope, sourceId: string, publicUrl: string) {
  return syncSourceView(await findSource(scope, sourceId), publicUrl);
}

export async function deleteSyncSource(
  scope: TenantScope,
  principal: Principal,
  sourceId: string,
  request: RequestInfo,
): Promise<void> {
  await scope.transaction(async (tx) => {
    const source = await findSource(tx, sourceId);
    const users = (await tx
      .from<EnvironmentRow>("environments")
      .where({ sync_source_id: sourceId })
      .select("id", "name")) as Array<{ id: string; name: string }>;
    if (users.length > 0) {
      throw new ConflictError(
        "SYNC_SOURCE_IN_USE",
        `environments follow this source (${users.map((u) => u.name).join(", ")}): set them to manual first`,
        { environmentIds: users.map((u) => u.id) },
      );
    }
    await tx.from("git_sync_sources").where({ id: sourceId }).delete();
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "git_sync_source.delete",
        targetType: "stack",
        targetId: source.stack_id,
        data: { sourceId, repoUrl: source.repo_url },
      },
      request,
    );
  });
}

/** Sets manual or automatic (from a source of the environment's own stack). Returns the environment. */
export async function setEnvironmentSync(
  scope: TenantScope,
  principal: Principal,
  envId: string,
  body: OpBody<"setEnvironmentSync">,
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    const env = await findEnvironment(tx, envId);
    const sourceId = body.mode === "automatic" ? (body.sourceId ?? null) : null;
    if (body.mode === "automatic") {
      if (sourceId === null) {
        throw new UnprocessableError("SYNC_SOURCE_REQUIRED", "automatic sync needs a sourceId");
      }
      const source = await findSource(tx, sourceId);
      if (source.stack_id !== env.stack_id) {
        throw new UnprocessableError("SYNC_SOURCE_OTHER_STACK", "the source belongs to another stack");
      }
      // Resume from the newest commit: poll it at once.
      await tx.from("git_sync_sources").where({ id: sourceId }).update({ next_poll_at: tx.db.fn.now() });
    }
    const [row] = (await tx
      .from("environments")
      .where({ id: envId })
      .update({ sync_mode: body.mode, sync_source_id: sourceId })
      .returning("*")) as unknown as EnvironmentRow[];
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "environment.sync_policy",
        targetType: "environment",
        targetId: env.id,
        data: { mode: body.mode, sourceId },
      },
      request,
    );
    return environmentView(row!);
  });
}

export interface PollOutcome {
  orgId: string;
  sourceId: string;
  /** The release a changed watched path produced; null when nothing at the path changed (or the fetch failed). */
  releaseId: string | null;
  commit: string | null;
}

/**
 * Polls one source: fetches the ref, and when the commit is new and the watched directory's tree differs from
 * the last one, freezes a release (audited with the commit). The source row is locked while the release is made,
 * so a webhook-triggered and a scheduled poll of one source cannot both release one tree.
 */
export async function pollSource(
  db: Db,
  orgId: string,
  sourceId: string,
  settings: GitSyncSettings,
  trigger: "poll" | "webhook",
  log: (entry: Record<string, unknown>) => void,
): Promise<PollOutcome> {
  const scope = systemScope(db, orgId, "git-sync");
  const source = await findSource(scope, sourceId);
  const none: PollOutcome = { orgId, sourceId, releaseId: null, commit: null };
  let fetched;
  try {
    fetched = await fetchGitReleaseSource(
      scope,
      null,
      { repoUrl: source.repo_url, ref: source.ref, path: source.path, credentialId: source.credential_id ?? undefined },
      {
        maxBytes: settings.release.composeMaxBytes,
        timeoutMs: settings.release.gitTimeoutMs,
        allowedSchemes: settings.release.gitAllowedSchemes,
      },
      settings.release.gitCredentials,
      NO_REQUEST,
    );
  } catch (err) {
    await recordPollError(scope, sourceId, err, null, null);
    log({ msg: "git sync fetch failed", sourceId, code: errorCode(err) });
    return none;
  }
  const stack = await findStack(scope, source.stack_id);
  try {
    return await scope.transaction(async (tx) => {
      const current = (await tx.from<SyncSourceRow>("git_sync_sources").where({ id: sourceId }).forUpdate().first()) as
        SyncSourceRow | undefined;
      if (!current) return none;
      const seen = {
        last_commit: fetched.commit,
        last_checked_at: tx.db.fn.now(),
        last_error_code: null,
        last_error_message: null,
      };
      if (current.last_commit === fetched.commit || current.last_tree_id === fetched.watchedTreeId) {
        // Same commit, or a commit that touched nothing under the watched path: no release.
        await tx.from("git_sync_sources").where({ id: sourceId }).update(seen);
        return { ...none, commit: fetched.commit };
      }
      const release = await freezeRelease(
        tx,
        { actorType: "system", actorId: null, userId: null },
        stack,
        {
          sourceType: "git",
          composeYaml: fetched.content,
          manifestYaml: fetched.manifestYaml,
          sourceRef: fetched.sourceRef,
          auditData: { syncSourceId: sourceId, commit: fetched.commit, trigger },
        },
        settings.release,
        NO_REQUEST,
      );
      await tx
        .from("git_sync_sources")
        .where({ id: sourceId })
        .update({ ...seen, last_tree_id: fetched.watchedTreeId, last_release_id: release.id });
      return { orgId, sourceId, releaseId: release.id, commit: fetched.commit };
    });
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    // The commit's compose is refused (invalid, policy): remembered, so it is not retried on every poll.
    await recordPollError(scope, sourceId, err, fetched.commit, fetched.watchedTreeId);
    log({ msg: "git sync release refused", sourceId, commit: fetched.commit, code: errorCode(err) });
    return { ...none, commit: fetched.commit };
  }
}

const errorCode = (err: unknown): string =>
  err instanceof AppError && typeof err.type === "string" ? err.type : "GIT_SYNC_FAILED";

async function recordPollError(
  scope: TenantScope,
  sourceId: string,
  err: unknown,
  commit: string | null,
  treeId: string | null,
): Promise<void> {
  // Only our own error messages are stored (they name no secret); anything else gets a generic line.
  const message =
    err instanceof AppError ? err.message : "the source could not be synced; see the control plane's logs";
  await scope
    .from("git_sync_sources")
    .where({ id: sourceId })
    .update({
      last_checked_at: scope.db.fn.now(),
      last_error_code: errorCode(err),
      last_error_message: message.slice(0, 1000),
      ...(commit ? { last_commit: commit, last_tree_id: treeId } : {}),
    });
}

/**
 * Claims up to `limit` due sources for this replica: the claim moves `next_poll_at` one jittered interval
 * ahead in the same statement, and `SKIP LOCKED` leaves rows another replica is claiming to it, so each due
 * source is polled by one replica. All orgs: a system path.
 */
export async function claimDueSources(db: Db, limit: number): Promise<Array<{ id: string; org_id: string }>> {
  const result = await systemDb(db, "git-sync").raw<{ rows: Array<{ id: string; org_id: string }> }>(
    `update git_sync_sources s
        set next_poll_at = now() + make_interval(secs => s.poll_interval_seconds * (0.9 + random() * 0.2))
      where s.id in (select id from git_sync_sources where next_poll_at <= now()
                     order by next_poll_at for update skip locked limit ?)
      returning s.id, s.org_id`,
    [limit],
  );
  return result.rows;
}

export async function pruneWebhookDeliveries(db: Db): Promise<void> {
  await systemDb(
    db,
    "git-sync",
  )("git_webhook_deliveries")
    .where("received_at", "<", db.raw(`now() - interval '${WEBHOOK_DELIVERY_RETENTION_DAYS} days'`))
    .delete();
}

export interface WebhookOutcome {
  status: "accepted" | "duplicate" | "ping";
  sourceId: string;
  orgId: string;
  stackId: string;
  /** The delivery id recorded (forgotten again when a pull-request event's handling fails: see forgetDelivery). */
  deliveryId: string;
  /** A pull-request event (previews act on it); a push or anything else is null. */
  pullRequest: PullRequestEvent | null;
}

/**
 * A delivery to `/v1/webhooks/git/{sourceId}`: unknown sources and bad signatures are both 401 (nothing says
 * which), a known delivery id is answered `duplicate` and ignored, a valid one makes the source due at once.
 * A push's body is never parsed: the poll reads the repository itself, so a forged-but-signed payload can only
 * make us look sooner. A pull-request event (pull-request.ts) is parsed after the signature checked out and is
 * handed to previews; it does not make the source due (the PR head is not the watched ref).
 */
export async function receiveWebhook(
  db: Db,
  settings: GitSyncSettings,
  sourceId: string,
  headers: WebhookHeaders,
  body: Buffer,
): Promise<WebhookOutcome> {
  const lookup = systemDb(db, "git-sync");
  const source = UUID.test(sourceId)
    ? ((await lookup<SyncSourceRow>("git_sync_sources").where({ id: sourceId }).first()) as SyncSourceRow | undefined)
    : undefined;
  if (!source) throw new WebhookSignatureError("the webhook signature does not match this source's secret");
  const delivery = verifyWebhook(
    headers,
    body,
    decryptWebhookSecret(settings.release.gitCredentials.masterKeys, source),
  );
  const pullRequest = parsePullRequestEvent(delivery.provider, headers, body);
  const scope = systemScope(db, source.org_id, "git-sync");
  return scope.transaction(async (tx) => {
    const inserted = await tx
      .db("git_webhook_deliveries")
      .insert({ source_id: source.id, delivery_id: delivery.deliveryId })
      .onConflict(["source_id", "delivery_id"])
      .ignore()
      .returning("delivery_id");
    const outcome = {
      sourceId: source.id,
      orgId: source.org_id,
      stackId: source.stack_id,
      deliveryId: delivery.deliveryId,
      pullRequest,
    };
    if (inserted.length === 0) return { ...outcome, status: "duplicate" as const };
    if (!delivery.ping && pullRequest === null) {
      await tx.from("git_sync_sources").where({ id: source.id }).update({ next_poll_at: tx.db.fn.now() });
    }
    await recordAudit(
      tx,
      {
        actorType: "system",
        actorId: null,
        action: "git_sync.webhook",
        targetType: "stack",
        targetId: source.stack_id,
        data: {
          sourceId: source.id,
          provider: delivery.provider,
          deliveryId: delivery.deliveryId,
          ping: delivery.ping,
          ...(pullRequest ? { pullRequest: pullRequest.number, pullRequestAction: pullRequest.action } : {}),
        },
      },
      NO_REQUEST,
    );
    return { ...outcome, status: delivery.ping ? ("ping" as const) : ("accepted" as const) };
  });
}

/**
 * Forgets a recorded delivery whose pull-request event was refused (quota, a commit that cannot be fetched):
 * the forge's redelivery of it is then handled again instead of being answered `duplicate`.
 */
export async function forgetDelivery(db: Db, sourceId: string, deliveryId: string): Promise<void> {
  await systemDb(
    db,
    "git-sync",
  )("git_webhook_deliveries")
    .where({ source_id: sourceId, delivery_id: deliveryId })
    .delete();
}

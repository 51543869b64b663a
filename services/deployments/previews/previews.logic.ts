/**
 * Preview environments per pull request. A verified pull-request webhook (stacks' receiver, git-sync) lands
 * here: open makes environment `pr-<number>` from the stack's template (cluster, overlay, chosen secrets and
 * registry credentials, limits) with its own Swarm stack, a release of the head commit and a deployment of it;
 * a push (sync) deploys the new head; close or merge destroys it through the agent's
 * RemoveStack (services, networks, secrets, configs labelled as the environment's). The reaper destroys previews
 * idle past their TTL; a per-org quota caps live previews. Everything is audited as the system actor `previews`.
 *
 * The release is made by `buildReleaseFromSource` (builds/builds.logic.ts), as for any release from git: when
 * the compose at the head commit has services with `build:`, the template environment's cluster builds them
 * and pushes to its registry, and the preview waits `building` (no deployment yet); the build's end
 * (`continuePreviewAfterBuild`, called by the event writer's caller) deploys the frozen release or fails the
 * preview with the build's step. A push while building cancels the superseded build.
 */
import { parse, parseDocument } from "yaml";
import type { Db } from "../../_shared/db.js";
import { ConflictError, NotFoundError } from "../../_shared/errors.js";
import type { MasterKeys } from "../../_shared/master-keys.js";
import type { Principal, RequestInfo } from "../../_shared/principal.js";
import { systemDb, systemScope, type TenantScope } from "../../_shared/tenant.js";
import { actorOf, recordAudit } from "../../audit/index.js";
import {
  defaultSwarmStack,
  findEnvironment,
  findStack,
  loadSecretValues,
  putSecret,
  type PullRequestEvent,
} from "../../stacks/index.js";
import {
  buildReleaseFromSource,
  cancelUnwantedBuild,
  type BuildFromSourceResult,
  type BuildSettings,
} from "../builds/builds.logic.js";
import {
  buildView,
  TERMINAL_BUILD_STATUSES,
  type BuildRow,
  type BuildStatus,
  type BuildView,
} from "../builds/builds.repo.js";
import { createDeployment, type DeploymentActor } from "../deployments.logic.js";
import { deleteEnvironment, type RemovalDeps } from "../environment-removal.js";
import type { PreviewSettingsRow } from "./settings.js";

export const PREVIEWS_ACTOR: DeploymentActor = { actorType: "system", actorId: "previews", email: "previews" };
const AUDIT_ACTOR = { actorType: "system" as const, actorId: "previews" };
const NO_REQUEST: RequestInfo = { ip: null, userAgent: null };
/** A preview being destroyed is retried by the reaper when its destroyer has not finished after this long. */
export const DESTROY_LEASE_SECONDS = 30;

export type PreviewStatus = "building" | "deploying" | "running" | "failed" | "destroying" | "destroyed";

export interface PreviewRow {
  id: string;
  org_id: string;
  stack_id: string;
  environment_id: string | null;
  pr_number: number;
  title: string;
  branch: string;
  head_commit: string;
  release_id: string | null;
  /** The build of `release_id` while the preview is `building` (and after, for its console). */
  build_id: string | null;
  deployment_id: string | null;
  status: PreviewStatus;
  url: string | null;
  error_code: string | null;
  error_message: string | null;
  last_activity_at: Date;
  created_at: Date;
  destroyed_at: Date | null;
  destroy_reason: string | null;
}

export const previewView = (p: PreviewRow) => ({
  id: p.id,
  stackId: p.stack_id,
  environmentId: p.environment_id,
  environmentName: `pr-${p.pr_number}`,
  prNumber: p.pr_number,
  title: p.title,
  branch: p.branch,
  commit: p.head_commit,
  releaseId: p.release_id,
  buildId: p.build_id,
  deploymentId: p.deployment_id,
  status: p.status,
  url: p.url,
  error: p.error_code ? { code: p.error_code, message: p.error_message ?? "" } : null,
  lastActivityAt: p.last_activity_at.toISOString(),
  createdAt: p.created_at.toISOString(),
  destroyedAt: p.destroyed_at?.toISOString() ?? null,
  destroyReason: p.destroy_reason,
});
export type PreviewView = ReturnType<typeof previewView>;

export class PreviewQuotaExceededError extends ConflictError {
  constructor(quota: number, live: number) {
    super(
      "PREVIEW_QUOTA_EXCEEDED",
      `the org already has ${live} live preview environment(s) and its quota is ${quota}: close a pull request or destroy a preview first`,
      { quota, live },
    );
    this.name = "PreviewQuotaExceededError";
  }
}

export interface PreviewDeps {
  db: Db;
  /** Releases of head commits are made (and built, when they have `build:`) through these. */
  builds: BuildSettings;
  masterKeys: MasterKeys;
  defaultQuota: number;
}

export interface PullRequestOutcome {
  result: "created" | "redeployed" | "unchanged" | "destroying" | "ignored";
  preview: PreviewView | null;
  /** The deployment to enqueue (PENDING), if one was made (none while the head commit builds). */
  deploymentId: string | null;
}

const livePreview = (scope: TenantScope, stackId: string, prNumber: number) =>
  scope.from<PreviewRow>("previews").where({ stack_id: stackId, pr_number: prNumber }).whereNull("destroyed_at");

async function quotaOf(db: Db, orgId: string, defaultQuota: number): Promise<number> {
  const org = (await systemDb(db, "previews")("orgs").where({ id: orgId }).first("preview_quota")) as
    { preview_quota: number | null } | undefined;
  return org?.preview_quota ?? defaultQuota;
}

async function liveCount(scope: TenantScope): Promise<number> {
  const [row] = (await scope.from("previews").whereNull("destroyed_at").count("* as n")) as Array<{
    n: string | number;
  }>;
  return Number(row?.n ?? 0);
}

/** A pull-request event of a source (already verified and deduplicated by the webhook receiver). */
export async function handlePullRequest(
  deps: PreviewDeps,
  input: { orgId: string; sourceId: string; event: PullRequestEvent },
): Promise<PullRequestOutcome> {
  const scope = systemScope(deps.db, input.orgId, "previews");
  const { event } = input;
  const settings = (await scope
    .from<PreviewSettingsRow>("preview_settings")
    .where({ source_id: input.sourceId, enabled: true })
    .first()) as PreviewSettingsRow | undefined;
  const ignored: PullRequestOutcome = { result: "ignored", preview: null, deploymentId: null };
  if (!settings) return ignored;
  const existing = (await livePreview(scope, settings.stack_id, event.number).first()) as PreviewRow | undefined;
  if (event.action === "close") {
    if (!existing) return ignored;
    const marked = await markDestroying(scope, existing.id, event.merged ? "merged" : "closed");
    return { result: "destroying", preview: marked ? previewView(marked) : previewView(existing), deploymentId: null };
  }
  if (existing?.status === "destroying") {
    throw new ConflictError(
      "PREVIEW_DESTROYING",
      "the preview of this pull request is being destroyed; reopen it afterwards",
    );
  }
  if (existing && existing.head_commit === event.headCommit && existing.status !== "failed") {
    await scope.from("previews").where({ id: existing.id }).update({ last_activity_at: scope.db.fn.now() });
    return { result: "unchanged", preview: previewView(existing), deploymentId: null };
  }
  const quota = await quotaOf(deps.db, input.orgId, deps.defaultQuota);
  // Checked before the fetch (cheap), and again under the org's lock below (exact).
  if (!existing) {
    const live = await liveCount(scope);
    if (live >= quota) throw new PreviewQuotaExceededError(quota, live);
  }
  const made = await releaseOfHead(deps, scope, settings, input.sourceId, event);
  const release = made.release;
  // Building (or its build could not even start): the preview waits for it, or shows why it failed.
  const build = made.build;
  const waiting = build !== null && !TERMINAL_BUILD_STATUSES.includes(build.status);
  let outcome: PullRequestOutcome;
  try {
    outcome = await recordPullRequestRelease(deps, scope, { settings, existing, event, quota, release, build });
  } catch (err) {
    // Nothing recorded it (quota reached meanwhile, another delivery won): its build is nobody's.
    if (waiting) await cancelQuietly(deps, input.orgId, build.id, "the preview it was for was not recorded");
    throw err;
  }
  // The build this push supersedes is of no use now.
  if (existing?.status === "building" && existing.build_id && existing.build_id !== build?.id) {
    await cancelQuietly(deps, input.orgId, existing.build_id, `superseded by commit ${event.headCommit.slice(0, 12)}`);
  }
  return outcome;
}

/** The release of the head commit, read from the stack's git source at that commit (built when it has `build:`). */
async function releaseOfHead(
  deps: PreviewDeps,
  scope: TenantScope,
  settings: PreviewSettingsRow,
  sourceId: string,
  event: PullRequestEvent,
): Promise<BuildFromSourceResult> {
  const source = (await scope.from("git_sync_sources").where({ id: sourceId }).first()) as
    { repo_url: string; path: string; credential_id: string | null } | undefined;
  if (!source) throw new NotFoundError("SYNC_SOURCE_NOT_FOUND", "the stack's git source is gone");
  return buildReleaseFromSource(
    deps.builds,
    scope,
    { actorType: "system", actorId: "previews", userId: null },
    null,
    {
      stackId: settings.stack_id,
      // The template's cluster builds and its registry receives the images; the preview pulls them with the
      // template's registry credentials, which it is given (createPreviewEnvironment).
      environmentId: settings.template_environment_id,
      git: {
        repoUrl: source.repo_url,
        ref: event.headCommit,
        path: source.path,
        ...(source.credential_id ? { credentialId: source.credential_id } : {}),
      },
    },
    NO_REQUEST,
    { syncSourceId: sourceId, pullRequest: event.number, trigger: "preview" },
  );
}

async function cancelQuietly(deps: PreviewDeps, orgId: string, buildId: string, reason: string): Promise<void> {
  // Best effort: a build that cannot be stopped ends on its own and nothing deploys it.
  await cancelUnwantedBuild(deps.builds, orgId, buildId, reason).catch(() => undefined);
}

interface RecordInput {
  settings: PreviewSettingsRow;
  existing: PreviewRow | undefined;
  event: PullRequestEvent;
  quota: number;
  release: BuildFromSourceResult["release"];
  build: BuildFromSourceResult["build"];
}

/** The preview row (and its environment, when new) for the head's release, and its deployment once it is ready. */
async function recordPullRequestRelease(
  deps: PreviewDeps,
  scope: TenantScope,
  input: RecordInput,
): Promise<PullRequestOutcome> {
  const { settings, existing, event, quota, release, build } = input;
  const orgId = scope.orgId;
  const building = build !== null && !TERMINAL_BUILD_STATUSES.includes(build.status);
  const buildFailed = build !== null && build.status !== "SUCCEEDED" && !building;
  const head = {
    head_commit: event.headCommit,
    branch: event.branch,
    title: event.title,
    release_id: release.id,
    build_id: build?.id ?? null,
    deployment_id: null,
    status: building ? "building" : buildFailed ? "failed" : "deploying",
    url: null,
    error_code: buildFailed ? (build.errorCode ?? `BUILD_${build.status}`) : null,
    error_message: buildFailed ? buildFailure(build) : null,
  };
  return scope.transaction(async (tx) => {
    let preview: PreviewRow;
    let environmentId: string;
    if (!existing) {
      // One creator of previews per org at a time: the quota holds across control-plane replicas.
      await systemDb(tx.db, "previews").raw("select id from orgs where id = ? for update", [orgId]);
      const live = await liveCount(tx);
      if (live >= quota) throw new PreviewQuotaExceededError(quota, live);
      if (await livePreview(tx, settings.stack_id, event.number).first("id")) {
        throw new ConflictError("PREVIEW_BUSY", "another delivery is creating this preview");
      }
      environmentId = await createPreviewEnvironment(tx, deps.masterKeys, settings, event.number);
      const [row] = (await tx
        .insert("previews", {
          ...head,
          stack_id: settings.stack_id,
          environment_id: environmentId,
          pr_number: event.number,
        })
        .returning("*")) as unknown as PreviewRow[];
      preview = row!;
    } else {
      environmentId = existing.environment_id ?? "";
      await tx.from("previews").where({ id: existing.id }).forUpdate().first("id");
      const [row] = (await tx
        .from("previews")
        .where({ id: existing.id })
        .update({ ...head, last_activity_at: tx.db.fn.now() })
        .returning("*")) as unknown as PreviewRow[];
      preview = row!;
    }
    const deployment = head.status === "deploying" ? await deployPreview(tx, preview, settings) : null;
    await recordAudit(
      tx,
      {
        ...AUDIT_ACTOR,
        action: existing ? "preview.redeploy" : "preview.create",
        targetType: "environment",
        targetId: environmentId,
        data: {
          previewId: preview.id,
          stackId: settings.stack_id,
          pullRequest: event.number,
          branch: event.branch,
          commit: event.headCommit,
          releaseId: release.id,
          ...(build ? { buildId: build.id } : {}),
          deploymentId: deployment?.row.id ?? null,
        },
      },
      NO_REQUEST,
    );
    return {
      result: existing ? ("redeployed" as const) : ("created" as const),
      preview: previewView(deployment?.row ?? preview),
      deploymentId: deployment?.enqueue ?? null,
    };
  });
}

/** The build's failure as the preview shows it: the service and step at fault, then the message. */
function buildFailure(build: BuildView): string {
  const where = build.failedService ? `building ${build.failedService}` : "building";
  return `${where} failed: ${build.errorMessage ?? `the build ended ${build.status}`}`.slice(0, 1000);
}

/** A deployment of the preview's (ready) release, with the settings' limits applied to the release's services. */
async function deployPreview(
  tx: TenantScope,
  preview: PreviewRow,
  /** Undefined when the stack's previews were switched off meanwhile: deployed as they are, no limits set. */
  settings: PreviewSettingsRow | undefined,
): Promise<{ row: PreviewRow; enqueue: string | null }> {
  const environmentId = preview.environment_id ?? "";
  const release = (await tx.from("stack_releases").where({ id: preview.release_id }).first("compose_yaml")) as
    { compose_yaml: string } | undefined;
  if (!release) throw new NotFoundError("RELEASE_NOT_FOUND", "the preview's release is gone");
  if (settings) await applyLimits(tx, environmentId, settings, release.compose_yaml);
  const created = await createDeployment(
    tx,
    PREVIEWS_ACTOR,
    { environmentId, releaseId: preview.release_id!, kind: "deploy", idempotencyKey: null },
    NO_REQUEST,
  );
  const [row] = (await tx
    .from("previews")
    .where({ id: preview.id })
    .update({ deployment_id: created.deployment.id, status: "deploying" })
    .returning("*")) as unknown as PreviewRow[];
  return { row: row!, enqueue: created.deployment.status === "PENDING" ? created.deployment.id : null };
}

/**
 * Builds that ended while a live preview still waits for them: the step after the end did not run (the process
 * stopped in between). The sweep continues them; `continuePreviewAfterBuild` is a no-op once done.
 */
export async function buildsAwaitedByEndedPreviews(db: Db): Promise<string[]> {
  const rows = (await systemDb(
    db,
    "previews",
  )("previews as p")
    .join("release_builds as b", "b.id", "p.build_id")
    .where("p.status", "building")
    .whereNull("p.destroyed_at")
    .whereIn("b.status", TERMINAL_BUILD_STATUSES as BuildStatus[])
    .where("b.finished_at", "<", db.raw("now() - interval '30 seconds'"))
    .limit(50)
    .select("b.id")) as Array<{ id: string }>;
  return rows.map((r) => r.id);
}

/**
 * A build ended (the event writer stored its terminal event). When it is the build a live preview waits for,
 * success deploys the frozen release to the preview and failure fails the preview with the build's step.
 * Returns the preview and the deployment to enqueue, or null for a build no preview waits for (any more).
 */
export async function continuePreviewAfterBuild(
  db: Db,
  buildId: string,
): Promise<{ preview: PreviewRow; deploymentId: string | null } | null> {
  const found = (await systemDb(
    db,
    "previews",
  )("previews")
    .where({ build_id: buildId, status: "building" })
    .whereNull("destroyed_at")
    .first("id", "org_id")) as { id: string; org_id: string } | undefined;
  if (!found) return null;
  const scope = systemScope(db, found.org_id, "previews");
  return scope.transaction(async (tx) => {
    const preview = (await tx
      .from<PreviewRow>("previews")
      .where({ id: found.id, build_id: buildId, status: "building" })
      .forUpdate()
      .first()) as PreviewRow | undefined;
    if (!preview) return null; // a push or a close got there first
    const build = (await tx.from("release_builds").where({ id: buildId }).first()) as BuildRow | undefined;
    if (!build || !TERMINAL_BUILD_STATUSES.includes(build.status)) return null;
    const settings = (await tx
      .from<PreviewSettingsRow>("preview_settings")
      .where({ stack_id: preview.stack_id })
      .first()) as PreviewSettingsRow | undefined;
    if (build.status === "SUCCEEDED" && preview.environment_id) {
      const deployed = await deployPreview(tx, preview, settings);
      await recordAudit(
        tx,
        {
          ...AUDIT_ACTOR,
          action: "preview.deploy_built",
          targetType: "environment",
          targetId: preview.environment_id,
          data: {
            previewId: preview.id,
            pullRequest: preview.pr_number,
            commit: preview.head_commit,
            releaseId: preview.release_id,
            buildId,
            deploymentId: deployed.row.deployment_id,
          },
        },
        NO_REQUEST,
      );
      return { preview: deployed.row, deploymentId: deployed.enqueue };
    }
    const [failed] = (await tx
      .from("previews")
      .where({ id: preview.id })
      .update({
        status: "failed",
        error_code: build.error_code ?? `BUILD_${build.status}`,
        error_message: buildFailure(buildView(build)),
      })
      .returning("*")) as unknown as PreviewRow[];
    return { preview: failed!, deploymentId: null };
  });
}

/** `pr-<number>` on the template's cluster, with the template's overlay and the secrets the settings name. */
async function createPreviewEnvironment(
  tx: TenantScope,
  keys: MasterKeys,
  settings: PreviewSettingsRow,
  prNumber: number,
): Promise<string> {
  const stack = await findStack(tx, settings.stack_id);
  const template = await findEnvironment(tx, settings.template_environment_id);
  const name = `pr-${prNumber}`;
  if (await tx.from("environments").where({ stack_id: stack.id, name }).first("id")) {
    throw new ConflictError(
      "ENVIRONMENT_EXISTS",
      `the stack already has an environment named "${name}" that is not a preview: rename it to enable this preview`,
      { name },
    );
  }
  const swarmStack = defaultSwarmStack(stack.name, name);
  if (await tx.from("environments").where({ cluster_id: template.cluster_id, swarm_stack: swarmStack }).first("id")) {
    throw new ConflictError("SWARM_STACK_TAKEN", `the Swarm stack "${swarmStack}" is taken on the template's cluster`, {
      swarmStack,
    });
  }
  const [env] = (await tx
    .insert("environments", {
      stack_id: stack.id,
      name,
      cluster_id: template.cluster_id,
      swarm_stack: swarmStack,
      deploy_timeout_seconds: template.deploy_timeout_seconds,
      image_resolution: template.image_resolution,
      // A failed preview stays failed for the author to see; nothing to roll back to.
      on_failure: "pause",
    })
    .returning("id")) as Array<{ id: string }>;
  const environmentId = env!.id;
  const overlay = (await tx
    .from("stack_overlays")
    .where({ environment_id: template.id })
    .first("env_json", "compose_patch_yaml")) as { env_json: unknown; compose_patch_yaml: string } | undefined;
  await tx.insert("stack_overlays", {
    environment_id: environmentId,
    env_json: JSON.stringify(overlay?.env_json ?? {}),
    compose_patch_yaml: overlay?.compose_patch_yaml ?? "",
    updated_by: null,
  });
  // The template's registry logins: the preview pulls the same private images, and the images built for it.
  const logins = (await tx
    .from("environment_registry_credentials")
    .where({ environment_id: template.id })
    .select("credential_id", "registry")) as Array<{ credential_id: string; registry: string }>;
  if (logins.length > 0) {
    await tx.insert(
      "environment_registry_credentials",
      logins.map((l) => ({ environment_id: environmentId, credential_id: l.credential_id, registry: l.registry })),
    );
  }
  const wanted = new Set(settings.copy_secrets);
  for (const secret of await loadSecretValues(tx, template.id, keys)) {
    if (!wanted.has(secret.name)) continue;
    try {
      await putSecret(
        tx,
        { environmentId, name: secret.name, value: secret.value, services: secret.services, actor: null },
        keys,
      );
    } finally {
      secret.value.fill(0);
    }
  }
  await recordAudit(
    tx,
    {
      ...AUDIT_ACTOR,
      action: "environment.create",
      targetType: "environment",
      targetId: environmentId,
      data: {
        stackId: stack.id,
        name,
        clusterId: template.cluster_id,
        swarmStack,
        previewOf: template.id,
        copiedSecretNames: [...wanted],
        registries: logins.map((l) => l.registry),
      },
    },
    NO_REQUEST,
  );
  return environmentId;
}

/**
 * The preview's overlay: the template's compose patch with the settings' resource limits on every service of
 * the release (set again at each deploy: a push may add a service).
 */
async function applyLimits(tx: TenantScope, environmentId: string, settings: PreviewSettingsRow, composeYaml: string) {
  if (settings.cpu_limit === null && settings.memory_limit === null) return;
  const template = (await tx
    .from("stack_overlays")
    .where({ environment_id: settings.template_environment_id })
    .first("compose_patch_yaml")) as { compose_patch_yaml: string } | undefined;
  const services = Object.keys((parse(composeYaml) as { services?: Record<string, unknown> }).services ?? {});
  const doc = parseDocument(template?.compose_patch_yaml || "{}");
  for (const service of services) {
    const at = ["services", service, "deploy", "resources", "limits"];
    if (settings.cpu_limit !== null) doc.setIn([...at, "cpus"], settings.cpu_limit);
    if (settings.memory_limit !== null) doc.setIn([...at, "memory"], settings.memory_limit);
  }
  await tx
    .from("stack_overlays")
    .where({ environment_id: environmentId })
    .update({ compose_patch_yaml: doc.toString(), updated_at: tx.db.fn.now() });
}

/** Marks a live preview `destroying` (the destroyer, or after the lease the reaper, removes it). */
async function markDestroying(scope: TenantScope, previewId: string, reason: string): Promise<PreviewRow | undefined> {
  const [row] = (await scope
    .from("previews")
    .where({ id: previewId })
    .whereNull("destroyed_at")
    .update({ status: "destroying", destroy_reason: reason, last_activity_at: scope.db.fn.now() })
    .returning("*")) as unknown as PreviewRow[];
  return row;
}

/**
 * Removes a preview's Swarm stack through the agent, then its environment (deployments, secrets, overlay: one
 * transaction, as deleting any environment), and marks the preview destroyed. The row stays locked meanwhile,
 * so another replica's reaper skips it. A busy environment (a deployment still running) or an unreachable agent
 * leaves it `destroying`: the reaper retries after the lease.
 */
export async function destroyPreview(
  deps: { db: Db; removal: RemovalDeps },
  orgId: string,
  previewId: string,
): Promise<PreviewRow | null> {
  const scope = systemScope(deps.db, orgId, "previews");
  return scope.transaction(async (tx) => {
    const row = (await tx.from<PreviewRow>("previews").where({ id: previewId }).forUpdate().skipLocked().first()) as
      PreviewRow | undefined;
    if (!row || row.destroyed_at !== null) return null;
    if (row.environment_id !== null) {
      await deleteEnvironment(
        deps.removal,
        tx,
        AUDIT_ACTOR,
        { environmentId: row.environment_id, keepRunning: false },
        NO_REQUEST,
      );
    }
    const [done] = (await tx
      .from("previews")
      .where({ id: previewId })
      .update({
        status: "destroyed",
        environment_id: null,
        url: null,
        destroyed_at: tx.db.fn.now(),
        destroy_reason: row.destroy_reason ?? "destroyed",
      })
      .returning("*")) as unknown as PreviewRow[];
    await recordAudit(
      tx,
      {
        ...AUDIT_ACTOR,
        action: "preview.destroy",
        targetType: "stack",
        targetId: row.stack_id,
        data: { previewId, pullRequest: row.pr_number, reason: row.destroy_reason, environmentId: row.environment_id },
      },
      NO_REQUEST,
    );
    return done ?? null;
  });
}

/** `DELETE /v1/previews/{previewId}`: a person destroys a preview now (audited as them, then as the system). */
export async function requestPreviewDestroy(
  scope: TenantScope,
  principal: Principal,
  previewId: string,
  request: RequestInfo,
): Promise<PreviewRow> {
  return scope.transaction(async (tx) => {
    const row = (await tx.from<PreviewRow>("previews").where({ id: previewId }).first()) as PreviewRow | undefined;
    if (!row) throw new NotFoundError("PREVIEW_NOT_FOUND", "preview not found");
    if (row.destroyed_at !== null) throw new ConflictError("PREVIEW_DESTROYED", "the preview is already destroyed");
    const marked = (await markDestroying(tx, previewId, `destroyed by ${principal.email}`)) ?? row;
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "preview.destroy_request",
        targetType: "stack",
        targetId: row.stack_id,
        data: { previewId, pullRequest: row.pr_number },
      },
      request,
    );
    return marked;
  });
}

/**
 * Claims up to `limit` previews to destroy on this replica: live ones idle past their stack's TTL, and
 * `destroying` ones whose destroyer gave up or died (older than the lease). The claim marks them `destroying`
 * and renews the lease in the statement that selects them; `SKIP LOCKED` leaves rows another replica holds.
 */
export async function claimPreviewsToReap(db: Db, limit: number): Promise<Array<{ id: string; org_id: string }>> {
  const result = await systemDb(db, "previews").raw<{ rows: Array<{ id: string; org_id: string }> }>(
    `update previews p
        set status = 'destroying',
            destroy_reason = coalesce(p.destroy_reason, 'idle past its TTL'),
            last_activity_at = now()
      where p.id in (
        select q.id from previews q
          left join preview_settings s on s.stack_id = q.stack_id
         where q.destroyed_at is null
           and ((q.status <> 'destroying'
                 and (s.stack_id is null or q.last_activity_at + make_interval(secs => s.ttl_seconds) < now()))
             or (q.status = 'destroying' and q.last_activity_at < now() - make_interval(secs => ?)))
         order by q.last_activity_at
         for update of q skip locked
         limit ?)
      returning p.id, p.org_id`,
    [DESTROY_LEASE_SECONDS, limit],
  );
  return result.rows;
}

export async function listPreviews(scope: TenantScope, stackId: string, defaultQuota: number) {
  await findStack(scope, stackId);
  const rows = (await scope
    .from<PreviewRow>("previews")
    .where({ stack_id: stackId })
    .orderByRaw("destroyed_at is not null, created_at desc")
    .limit(100)) as PreviewRow[];
  const quota = await quotaOf(scope.db as Db, scope.orgId, defaultQuota);
  return { items: rows.map(previewView), quota: { limit: quota, live: await liveCount(scope) } };
}

/** The URL of a deployed preview: the first published port of the compose the deployment sent. */
export function previewUrl(renderedYaml: string | null, host: string): string | null {
  if (!renderedYaml) return null;
  const doc = parse(renderedYaml) as { services?: Record<string, { ports?: unknown[] }> } | null;
  for (const service of Object.values(doc?.services ?? {})) {
    for (const port of service.ports ?? []) {
      let published: number | null;
      if (typeof port === "object" && port !== null) {
        const p = (port as { published?: unknown }).published;
        published = p === undefined || p === null ? null : Number(p);
      } else {
        const parts = String(port).split("/")[0]!.split(":");
        published = parts.length >= 2 ? Number(parts[parts.length - 2]) : null;
      }
      if (published !== null && Number.isInteger(published) && published > 0) return `http://${host}:${published}`;
    }
  }
  return null;
}

export interface PreviewDeploymentEnd {
  preview: PreviewRow;
  settings: PreviewSettingsRow | undefined;
}

/**
 * A deployment ended: when it is its preview's current one, the preview becomes running (with its URL) or
 * failed. Returns what the forge is to be told, or null for a deployment that is no preview's (or no longer).
 */
export async function recordPreviewDeploymentEnd(db: Db, deploymentId: string): Promise<PreviewDeploymentEnd | null> {
  const found = (await systemDb(
    db,
    "previews",
  )("previews")
    .where({ deployment_id: deploymentId })
    .whereNull("destroyed_at")
    .first("id", "org_id")) as { id: string; org_id: string } | undefined;
  if (!found) return null;
  const scope = systemScope(db, found.org_id, "previews");
  const deployment = (await scope
    .from("deployments")
    .where({ id: deploymentId })
    .first("status", "rendered_yaml", "error_code", "error_message")) as
    | { status: string; rendered_yaml: string | null; error_code: string | null; error_message: string | null }
    | undefined;
  if (!deployment) return null;
  const row = (await scope.from<PreviewRow>("previews").where({ id: found.id }).first()) as PreviewRow;
  const settings = (await scope
    .from<PreviewSettingsRow>("preview_settings")
    .where({ stack_id: row.stack_id })
    .first()) as PreviewSettingsRow | undefined;
  const succeeded = deployment.status === "SUCCEEDED";
  const [updated] = (await scope
    .from("previews")
    .where({ id: found.id, deployment_id: deploymentId })
    .whereIn("status", ["deploying", "running", "failed"])
    .update({
      status: succeeded ? "running" : "failed",
      url: succeeded ? previewUrl(deployment.rendered_yaml, settings?.url_host ?? "localhost") : null,
      error_code: succeeded ? null : (deployment.error_code ?? `DEPLOYMENT_${deployment.status}`),
      error_message: succeeded
        ? null
        : (deployment.error_message ?? `the deployment ended ${deployment.status}`).slice(0, 1000),
    })
    .returning("*")) as unknown as PreviewRow[];
  return updated ? { preview: updated, settings } : null;
}

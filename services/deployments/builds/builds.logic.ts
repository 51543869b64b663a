/**
 * Releases built from source. The entry point is `buildReleaseFromSource`: "build and freeze a release of stack S
 * from commit/ref R of repository Y, for environment E" (E's cluster builds, E's registry receives the images).
 *
 *   1. The commit is resolved on the control plane with the org's guard rails (SSRF check, the stack's git
 *      credential, trust on first use), the compose file read at it; a compose without `build:` becomes an
 *      ordinary ready release at once.
 *   2. One transaction: the release (state `building`, its compose as the commit has it), its build (PENDING) and
 *      the first event; audited.
 *   3. BuildRelease goes to the cluster's agent with the git connection and the registry login sealed to it. The
 *      agent fetches the commit, builds every service (bounded fan-out), pushes, and streams its output as events
 *      on the build's id: JetStream → release_build_events → the same SSE hub as deployments.
 *   4. The terminal event (events-writer.ts → applyBuildOutcome) freezes the release with the pushed digests
 *      (`ready`), or marks it `failed` (code, service, step, the compiler's output in the event) or `canceled`.
 */
import type { NatsConnection } from "nats";
import type { Db } from "../../_shared/db.js";
import { AgentRejectedError, AgentUnreachableError, sendAgentCommand } from "../../_shared/agent-commands.js";
import { ConflictError, UnprocessableError } from "../../_shared/errors.js";
import type { MasterKeys } from "../../_shared/master-keys.js";
import type { Principal, RequestInfo } from "../../_shared/principal.js";
import { systemScope, type TenantScope } from "../../_shared/tenant.js";
import { recordAudit } from "../../audit/index.js";
import { agentSealPublicKey } from "../../clusters/index.js";
import { seal } from "../../../nats/protocol/sealing.js";
import { findEnvironment, findStack, loadRegistryLogins } from "../../stacks/index.js";
import { prepareGitConnection, type GitCredentialSettings } from "../../stacks/git-credentials/index.js";
import { checkRepoUrl, resolveGitSource, type GitSourceOptions } from "../../stacks/git-source.js";
import { validateCompose } from "../../stacks/compose-validation.js";
import { assertComposePolicy } from "../../stacks/compose-policy.js";
import { composePolicyForUpload } from "../../stacks/compose-policy.logic.js";
import { parseManifest } from "../../stacks/manifest.js";
import { createRelease, getRelease, sha256Hex } from "../../stacks/releases-repo.js";
import { freezeRelease, type ReleaseActor } from "../../stacks/releases.logic.js";
import { releaseView } from "../../stacks/views.js";
import type { DeploymentEventView } from "../views.js";
import {
  buildPayloads,
  buildSpecs,
  freezeBuiltCompose,
  imageRepository,
  withPlaceholderImages,
  type BuildSpec,
} from "./build-plan.js";
import {
  appendBuildEvents,
  buildView,
  findBuild,
  TERMINAL_BUILD_STATUSES,
  type BuildRow,
  type BuildStatus,
} from "./builds.repo.js";

export interface BuildSettings {
  db: Db;
  nc: NatsConnection;
  commandSigningSeed: string;
  masterKeys: MasterKeys;
  composeMaxBytes: number;
  git: { options: Omit<GitSourceOptions, "connection">; credentials: GitCredentialSettings };
  dispatchTimeoutMs: number;
  concurrency: number;
  timeoutSeconds: number;
  /** Called with events written here, for live streaming (the deployments broadcast). */
  onEvents(buildId: string, events: DeploymentEventView[], status: string | null): void;
}

export interface BuildFromSourceInput {
  stackId: string;
  /** Whose cluster builds and whose registry credential receives the images. */
  environmentId: string;
  git: { repoUrl: string; ref: string; path: string; credentialId?: string };
  /** The registry host to push to; required only when the environment has several registry credentials. */
  registry?: string;
}

export interface BuildFromSourceResult {
  release: ReturnType<typeof releaseView>;
  /** Null when the compose file has no `build:` (the release is ready at once). */
  build: ReturnType<typeof buildView> | null;
}

/** "Build and freeze a release from commit X of source Y": see the file comment. Callable without a broker. */
export async function buildReleaseFromSource(
  deps: BuildSettings,
  scope: TenantScope,
  actor: ReleaseActor,
  principal: Principal | null,
  input: BuildFromSourceInput,
  request: RequestInfo,
  /** What made this release, for its audit record (e.g. the pull request of a preview). */
  trigger: Record<string, unknown> = {},
): Promise<BuildFromSourceResult> {
  const stack = await findStack(scope, input.stackId);
  const env = await findEnvironment(scope, input.environmentId);
  if (env.stack_id !== stack.id) {
    throw new UnprocessableError("ENVIRONMENT_NOT_OF_STACK", "the environment belongs to another stack");
  }
  const scheme = checkRepoUrl(input.git.repoUrl, deps.git.options.allowedSchemes);
  const connection = await prepareGitConnection(scope, principal, input.git, scheme, deps.git.credentials, request);
  const source = await deps.git.credentials.limiter.run(scope.orgId, () =>
    resolveGitSource(
      { repoUrl: input.git.repoUrl, ref: input.git.ref, path: input.git.path },
      { ...deps.git.options, maxBytes: deps.composeMaxBytes, ...(connection ? { connection } : {}) },
    ),
  );
  const composePath = source.sourceRef.slice(source.sourceRef.lastIndexOf(":") + 1);
  const composeDir = composePath.includes("/") ? composePath.slice(0, composePath.lastIndexOf("/")) : "";
  const specs = buildSpecs(source.content, composeDir);
  const auditData = {
    ...trigger,
    commit: source.commit,
    ...(input.git.credentialId ? { gitCredentialId: input.git.credentialId } : {}),
  };
  if (specs.length === 0) {
    const release = await freezeRelease(
      scope,
      actor,
      stack,
      {
        sourceType: "git",
        composeYaml: source.content,
        manifestYaml: source.manifestYaml,
        sourceRef: source.sourceRef,
        auditData,
      },
      { composeMaxBytes: deps.composeMaxBytes },
      request,
    );
    return { release, build: null };
  }

  const logins = await loadRegistryLogins(scope, env.id, deps.masterKeys);
  const registry = pickRegistry(
    logins.map((l) => l.registry),
    input.registry,
  );
  // Everything a deploy would refuse is refused now, before minutes of building: the compose as it will be frozen.
  const placeholder = withPlaceholderImages(source.content, specs, registry, stack.name);
  const { document, warnings } = validateCompose(placeholder, {
    maxBytes: deps.composeMaxBytes,
    stackName: stack.name,
  });
  assertComposePolicy(document, await composePolicyForUpload(scope), "compose policy of the org");
  const manifest =
    source.manifestYaml === null
      ? null
      : {
          yaml: source.manifestYaml,
          document: parseManifest(source.manifestYaml, Object.keys(document.services ?? {})),
        };
  const sealKey = await agentSealPublicKey(deps.db, env.cluster_id);
  if (!sealKey) {
    throw new UnprocessableError(
      "AGENT_SEAL_KEY_MISSING",
      "the cluster's agent has no key to seal the git and registry credentials to: register it again",
    );
  }
  const services = buildPayloads(specs, registry, stack.name, source.commit);

  const created = await scope.transaction(async (tx) => {
    const release = await createRelease(tx, {
      stackId: stack.id,
      sourceType: "git",
      sourceRef: source.sourceRef,
      composeYaml: source.content,
      warnings,
      createdBy: actor.userId,
      manifest,
      building: true,
    });
    const [build] = (await tx
      .insert("release_builds", {
        release_id: release.id,
        environment_id: env.id,
        cluster_id: env.cluster_id,
        status: "PENDING",
        commit: source.commit,
        registry,
        created_by: actor.userId,
      })
      .returning("*")) as BuildRow[];
    if (!build) throw new Error("release_builds insert returned no row");
    await recordAudit(
      tx,
      {
        actorType: actor.actorType,
        actorId: actor.actorId,
        action: "release.create",
        targetType: "release",
        targetId: release.id,
        data: {
          stackId: stack.id,
          version: release.version,
          sourceType: "git",
          sourceRef: release.sourceRef,
          sha256: release.composeSha256,
          buildId: build.id,
          environmentId: env.id,
          services: specs.map((s) => s.service),
          ...auditData,
        },
      },
      request,
    );
    const events = await appendBuildEvents(tx.db, scope.orgId, build.id, [
      {
        level: "info",
        message: `build of release v${release.version} requested: ${specs.length} service(s) from ${source.commit.slice(0, 12)}, pushing to ${registry}`,
        data: {
          phase: "queued",
          commit: source.commit,
          services: services.map((s) => ({ service: s.service, image: s.image })),
        },
      },
    ]);
    return { release, build, events };
  });
  deps.onEvents(created.build.id, created.events, "PENDING");

  // Sealed to the agent, bound to this build: a copy cut from this command opens for no other.
  const ctx = { clusterId: env.cluster_id, deploymentId: created.build.id, name: "git" } as const;
  const gitAuth = connection ? seal(JSON.stringify(connection), sealKey, { ...ctx, kind: "git" }) : null;
  const registryAuth = logins
    .filter((l) => l.registry === registry)
    .map((l) => ({
      registry: l.registry,
      sealed: seal(JSON.stringify({ username: l.username, password: l.password }), sealKey, {
        ...ctx,
        kind: "registry",
        name: l.registry,
      }),
    }));
  try {
    await sendAgentCommand(
      deps.nc,
      deps.commandSigningSeed,
      { orgId: scope.orgId, clusterId: env.cluster_id },
      "BuildRelease",
      {
        buildId: created.build.id,
        repoUrl: input.git.repoUrl,
        commit: source.commit,
        gitAuth,
        services,
        registryAuth,
        concurrency: deps.concurrency,
        timeoutSeconds: deps.timeoutSeconds,
        firstSeq: (created.events.at(-1)?.seq ?? 0) + 1,
      },
      { timeoutMs: deps.dispatchTimeoutMs },
    );
    await markRunning(deps, scope.orgId, created.build.id);
  } catch (err) {
    const code =
      err instanceof AgentRejectedError
        ? err.agentCode
        : err instanceof AgentUnreachableError
          ? "AGENT_UNREACHABLE"
          : null;
    if (code === null) throw err;
    await endBuild(deps, created.build, {
      status: "FAILED",
      errorMessage: `the agent did not start the build: ${(err as Error).message}`,
      errorCode: code,
    });
  }
  const release = await getRelease(scope, created.release.id);
  return { release: releaseView(release), build: buildView(await findBuild(scope, created.build.id)) };
}

function pickRegistry(attached: string[], wanted: string | undefined): string {
  if (wanted !== undefined) {
    if (!attached.includes(wanted)) {
      throw new UnprocessableError(
        "BUILD_REGISTRY_NOT_ATTACHED",
        `the environment has no registry credential for ${wanted}: attach one to push built images there`,
        { registry: wanted },
      );
    }
    return wanted;
  }
  const unique = [...new Set(attached)];
  if (unique.length === 1) return unique[0]!;
  throw new UnprocessableError(
    unique.length === 0 ? "BUILD_REGISTRY_REQUIRED" : "BUILD_REGISTRY_AMBIGUOUS",
    unique.length === 0
      ? "building from source pushes to the environment's registry: attach a registry credential to the environment"
      : `the environment has several registries (${unique.join(", ")}): say which one to push to`,
  );
}

async function markRunning(deps: BuildSettings, orgId: string, buildId: string): Promise<void> {
  await deps
    .db("release_builds")
    .where({ id: buildId, org_id: orgId, status: "PENDING" })
    .update({ status: "RUNNING", started_at: deps.db.fn.now() });
}

const RELEASE_STATE: Record<Exclude<BuildStatus, "PENDING" | "RUNNING">, string> = {
  SUCCEEDED: "ready",
  FAILED: "failed",
  CANCELED: "canceled",
};

interface BuildEnd {
  status: "FAILED" | "CANCELED";
  errorMessage: string;
  errorCode: string | null;
}

/** Beyond its timeout, a build's agent gets this long to report the end before the build counts as lost. */
export const LOST_BUILD_GRACE_SECONDS = 120;

/**
 * Builds no agent will report on any more (the agent restarted, or its cluster was removed, mid-build): PENDING
 * or RUNNING past their timeout plus a grace, ended FAILED with BUILD_LOST. Returns the ids ended. A terminal
 * event arriving afterwards (a leaf link that was down) finds the build ended and changes nothing.
 */
export async function endLostBuilds(deps: BuildSettings): Promise<string[]> {
  const lost = (await deps
    .db("release_builds")
    .whereIn("status", ["PENDING", "RUNNING"])
    .where(
      "created_at",
      "<",
      deps.db.raw("now() - make_interval(secs => ?)", [deps.timeoutSeconds + LOST_BUILD_GRACE_SECONDS]),
    )
    .orderBy("created_at")
    .limit(50)) as BuildRow[];
  const ended: string[] = [];
  for (const build of lost) {
    await endBuild(deps, build, {
      status: "FAILED",
      errorMessage: `the agent did not report the end of the build within its timeout (${deps.timeoutSeconds} s) and ${LOST_BUILD_GRACE_SECONDS} s more: it restarted or lost the build`,
      errorCode: "BUILD_LOST",
    });
    ended.push(build.id);
  }
  return ended;
}

/** Ends a build the agent will not report on (it refused, is unreachable, or was never reached). */
async function endBuild(deps: BuildSettings, build: BuildRow, end: BuildEnd): Promise<void> {
  const events = await deps.db.transaction(async (trx) => {
    const ended = await finishBuildRow(trx, build, { ...end, images: null, failedService: null, failedStep: null });
    if (!ended) return [];
    return appendBuildEvents(trx, build.org_id, build.id, [
      {
        level: end.status === "FAILED" ? "error" : "warn",
        message: `build ${end.status === "FAILED" ? "failed" : "canceled"}: ${end.errorMessage}`,
        data: {
          terminal: true,
          status: end.status,
          error: end.errorMessage,
          ...(end.errorCode ? { code: end.errorCode } : {}),
        },
      },
    ]);
  });
  deps.onEvents(build.id, events, end.status);
}

interface FinishFields {
  status: "SUCCEEDED" | "FAILED" | "CANCELED";
  errorMessage: string | null;
  errorCode: string | null;
  images: Record<string, string> | null;
  failedService: string | null;
  failedStep: string | null;
  frozenCompose?: string;
}

/** Moves a build (and its release) to the end state once; false when it had ended already. */
async function finishBuildRow(
  trx: Db | import("knex").Knex.Transaction,
  build: Pick<BuildRow, "id" | "release_id">,
  f: FinishFields,
): Promise<boolean> {
  const updated = await trx("release_builds")
    .where({ id: build.id })
    .whereNotIn("status", TERMINAL_BUILD_STATUSES)
    .update({
      status: f.status,
      error_message: f.errorMessage,
      error_code: f.errorCode,
      images: f.images ? JSON.stringify(f.images) : null,
      failed_service: f.failedService,
      failed_step: f.failedStep,
      finished_at: trx.fn.now(),
    });
  if (updated === 0) return false;
  await trx("stack_releases")
    .where({ id: build.release_id, build_status: "building" })
    .update({
      build_status: RELEASE_STATE[f.status],
      ...(f.frozenCompose !== undefined
        ? { compose_yaml: f.frozenCompose, compose_sha256: sha256Hex(f.frozenCompose) }
        : {}),
    });
  return true;
}

/** What the event writer needs to know of an id that is not a deployment's. */
export interface BuildInfo {
  orgId: string;
  clusterId: string;
  releaseId: string;
  secretValues: string[];
}

export async function buildInfo(db: Db, buildId: string, masterKeys: MasterKeys): Promise<BuildInfo | null> {
  const row = (await db("release_builds")
    .where({ id: buildId })
    .first("org_id", "cluster_id", "release_id", "environment_id")) as
    { org_id: string; cluster_id: string; release_id: string; environment_id: string } | undefined;
  if (!row) return null;
  const logins = await loadRegistryLogins(systemScope(db, row.org_id, "event-writer"), row.environment_id, masterKeys);
  return {
    orgId: row.org_id,
    clusterId: row.cluster_id,
    releaseId: row.release_id,
    secretValues: logins.flatMap((l) => [l.password, Buffer.from(`${l.username}:${l.password}`).toString("base64")]),
  };
}

const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * Applies a build's terminal event inside the writer's transaction: success freezes the release with the pushed
 * digests (refused — the build fails — when the agent's images do not match what was asked for), failure and
 * cancellation end it. Returns the status reached, or null when the build had ended already.
 */
export async function applyBuildOutcome(
  trx: import("knex").Knex.Transaction,
  buildId: string,
  outcome: "SUCCEEDED" | "FAILED" | "CANCELED",
  data: Record<string, unknown>,
  headline: string,
): Promise<{ status: BuildStatus; extra: DeploymentEventView[] } | null> {
  const build = (await trx("release_builds").where({ id: buildId }).forUpdate().first()) as BuildRow | undefined;
  if (!build || TERMINAL_BUILD_STATUSES.includes(build.status)) return null;
  const code = typeof data.code === "string" && ERROR_CODE.test(data.code) ? data.code : null;
  const text = (v: unknown, max: number) => (typeof v === "string" ? v.slice(0, max) : null);
  if (outcome === "SUCCEEDED") {
    const release = (await trx("stack_releases")
      .where({ id: build.release_id })
      .first("source_compose_yaml", "stack_id")) as { source_compose_yaml: string; stack_id: string } | undefined;
    const stack = (await trx("stacks")
      .where({ id: release?.stack_id ?? null })
      .first("name")) as { name: string } | undefined;
    const images = (data.images && typeof data.images === "object" ? data.images : {}) as Record<string, string>;
    try {
      if (!release || !stack) throw new Error("the release is gone");
      const composePath = ""; // contexts are already resolved; only the service names matter here
      const specs: BuildSpec[] = buildSpecs(release.source_compose_yaml, composePath);
      const repos = Object.fromEntries(
        specs.map((s) => [s.service, imageRepository(build.registry, stack.name, s.service)]),
      );
      const frozen = freezeBuiltCompose(release.source_compose_yaml, images, repos);
      await finishBuildRow(trx, build, {
        status: "SUCCEEDED",
        errorMessage: null,
        errorCode: null,
        images: Object.fromEntries(specs.map((s) => [s.service, images[s.service]!])),
        failedService: null,
        failedStep: null,
        frozenCompose: frozen,
      });
      return { status: "SUCCEEDED", extra: [] };
    } catch (err) {
      const message = `the built images could not be frozen into the release: ${(err as Error).message}`;
      await finishBuildRow(trx, build, {
        status: "FAILED",
        errorMessage: message,
        errorCode: "BUILD_FREEZE_FAILED",
        images: null,
        failedService: null,
        failedStep: null,
      });
      const extra = await appendBuildEvents(trx, build.org_id, build.id, [
        { level: "error", message, data: { code: "BUILD_FREEZE_FAILED" } },
      ]);
      return { status: "FAILED", extra };
    }
  }
  await finishBuildRow(trx, build, {
    status: outcome,
    errorMessage: outcome === "FAILED" ? headline.slice(0, 4000) : (text(data.error, 4000) ?? "canceled"),
    errorCode: outcome === "FAILED" ? code : null,
    images: null,
    failedService: text(data.service, 200),
    failedStep: text(data.step, 2000),
  });
  return { status: outcome, extra: [] };
}

export async function getReleaseBuild(scope: TenantScope, buildId: string) {
  return buildView(await findBuild(scope, buildId));
}

/** Cancels a build: a PENDING one at once, a RUNNING one on the agent (its terminal event ends it). */
export async function cancelReleaseBuild(
  deps: BuildSettings,
  scope: TenantScope,
  principal: Principal,
  buildId: string,
  request: RequestInfo,
) {
  const build = await findBuild(scope, buildId);
  if (TERMINAL_BUILD_STATUSES.includes(build.status)) {
    throw new ConflictError("BUILD_FINISHED", `the build already ended ${build.status}`);
  }
  await scope.transaction((tx) =>
    recordAudit(
      tx,
      {
        actorType: principal.actorType,
        actorId: principal.actorId,
        action: "build.cancel",
        targetType: "release",
        targetId: build.release_id,
        data: { buildId },
      },
      request,
    ),
  );
  await stopBuild(deps, build, `canceled by ${principal.email}`);
  return buildView(await findBuild(scope, buildId));
}

/**
 * Stops a build that is no longer wanted (the preview it was for got a newer push, or was never recorded):
 * audited as the system, a no-op for a build that has ended.
 */
export async function cancelUnwantedBuild(deps: BuildSettings, orgId: string, buildId: string, reason: string) {
  const scope = systemScope(deps.db, orgId, "builds");
  const build = await findBuild(scope, buildId);
  if (TERMINAL_BUILD_STATUSES.includes(build.status)) return;
  await scope.transaction((tx) =>
    recordAudit(
      tx,
      {
        actorType: "system",
        actorId: "builds",
        action: "build.cancel",
        targetType: "release",
        targetId: build.release_id,
        data: { buildId, reason },
      },
      { ip: null, userAgent: null },
    ),
  );
  await stopBuild(deps, build, reason);
}

/** CancelBuild to the agent; the build's terminal event ends it, or here when no agent will report it. */
async function stopBuild(deps: BuildSettings, build: BuildRow, reason: string): Promise<void> {
  let agentGone = false;
  try {
    const result = await sendAgentCommand(
      deps.nc,
      deps.commandSigningSeed,
      { orgId: build.org_id, clusterId: build.cluster_id },
      "CancelBuild",
      { buildId: build.id, reason },
      { timeoutMs: deps.dispatchTimeoutMs },
    );
    // Not running there but RUNNING here: it just ended and its terminal event is on its way, which decides.
    if (!result.cancelled && build.status === "PENDING") agentGone = true;
  } catch (err) {
    if (!(err instanceof AgentUnreachableError) && !(err instanceof AgentRejectedError)) throw err;
    agentGone = true;
  }
  // Never dispatched, or the agent is unreachable: nothing will report the end, so record it here.
  if (agentGone) await endBuild(deps, build, { status: "CANCELED", errorMessage: reason, errorCode: null });
}

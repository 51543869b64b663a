/** Release creation from an upload or a git ref (validated, frozen, versioned, audited) and release reads. */
import { publishReleaseCreated } from "./integration-events.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { TenantScope } from "../_shared/tenant.js";
import { recordAudit } from "../audit/index.js";
import { assertComposePolicy } from "./compose-policy.js";
import { composePolicyForUpload } from "./compose-policy.logic.js";
import { validateCompose } from "./compose-validation.js";
import { parseManifest } from "./manifest.js";
import type { GitScheme } from "./git-source.js";
import { fetchGitReleaseSource, OrgFetchLimiter, type GitCredentialSettings } from "./git-credentials/index.js";
import type { Config } from "../_shared/config.js";
import { createRelease, getRelease, listReleases } from "./releases-repo.js";
import { findStack } from "./stacks.logic.js";
import { releaseSummaryView, releaseView } from "./views.js";
import type { OpBody } from "../_shared/rest.js";

export interface ReleaseSettings {
  composeMaxBytes: number;
  gitTimeoutMs: number;
  gitAllowedSchemes: readonly GitScheme[];
  gitCredentials: GitCredentialSettings;
}

/** The release settings of one process (each process has its own per-org git fetch limiter). */
export function releaseSettingsFromConfig(config: Config): ReleaseSettings {
  return {
    composeMaxBytes: config.stacks.composeMaxBytes,
    gitTimeoutMs: config.stacks.gitTimeoutMs,
    gitAllowedSchemes: config.stacks.gitAllowedSchemes,
    gitCredentials: {
      masterKeys: config.stacks.masterKeys,
      hostPolicy: {
        blockPrivateNetworks: config.stacks.gitBlockPrivateNetworks,
        testAllowedHosts: config.stacks.gitTestAllowedHosts,
      },
      limiter: new OrgFetchLimiter(config.stacks.gitFetchConcurrencyPerOrg),
    },
  };
}

export type CreateReleaseBody = OpBody<"createRelease">;

export async function createStackRelease(
  scope: TenantScope,
  principal: Principal,
  stackId: string,
  body: CreateReleaseBody,
  settings: ReleaseSettings,
  request: RequestInfo,
) {
  const stack = await findStack(scope, stackId);
  // The git fetch happens before any transaction: it may take seconds and must not hold the stack's lock.
  const source =
    body.sourceType === "upload"
      ? { composeYaml: body.composeYaml, manifestYaml: body.manifestYaml ?? null, sourceRef: body.sourceRef ?? null }
      : await fetchGitReleaseSource(
          scope,
          principal,
          body.git,
          {
            maxBytes: settings.composeMaxBytes,
            timeoutMs: settings.gitTimeoutMs,
            allowedSchemes: settings.gitAllowedSchemes,
          },
          settings.gitCredentials,
          request,
        ).then((g) => ({ composeYaml: g.content, manifestYaml: g.manifestYaml, sourceRef: g.sourceRef }));
  return freezeRelease(
    scope,
    { actorType: principal.actorType, actorId: principal.actorId, userId: principal.userId },
    stack,
    {
      sourceType: body.sourceType,
      composeYaml: source.composeYaml,
      manifestYaml: source.manifestYaml,
      sourceRef: source.sourceRef,
      auditData: body.sourceType === "git" && body.git.credentialId ? { gitCredentialId: body.git.credentialId } : {},
    },
    settings,
    request,
  );
}

/** Who makes a release: a caller, or the control plane itself (auto-sync, `userId` null). */
export interface ReleaseActor {
  actorType: "user" | "token" | "system";
  actorId: string | null;
  userId: string | null;
}

export interface ReleaseContent {
  sourceType: "upload" | "git";
  composeYaml: string;
  /** The release manifest's text (stackyard.yaml), or null for a release without one. */
  manifestYaml: string | null;
  sourceRef: string | null;
  /** Extra facts for the `release.create` audit row (credential id, the commit of an auto-sync). */
  auditData: Record<string, unknown>;
}

/** Validates, checks the org's compose policy, stores the immutable release and audits it: one transaction. */
export async function freezeRelease(
  scope: TenantScope,
  actor: ReleaseActor,
  stack: { id: string; name: string },
  content: ReleaseContent,
  settings: Pick<ReleaseSettings, "composeMaxBytes">,
  request: RequestInfo,
) {
  const stackId = stack.id;
  const { document, warnings } = validateCompose(content.composeYaml, {
    maxBytes: settings.composeMaxBytes,
    stackName: stack.name,
  });
  const manifest =
    content.manifestYaml === null
      ? null
      : {
          yaml: content.manifestYaml,
          document: parseManifest(content.manifestYaml, Object.keys(document.services ?? {})),
        };
  // Checked again on the rendered state at each deploy, against the environment's cluster (overlays, later changes).
  assertComposePolicy(document, await composePolicyForUpload(scope), "compose policy of the org");
  return scope.transaction(async (tx) => {
    const release = await createRelease(tx, {
      stackId,
      sourceType: content.sourceType,
      sourceRef: content.sourceRef,
      composeYaml: content.composeYaml,
      warnings,
      createdBy: actor.userId,
      manifest,
    });
    await recordAudit(
      tx,
      {
        actorType: actor.actorType,
        actorId: actor.actorId,
        action: "release.create",
        targetType: "release",
        targetId: release.id,
        data: {
          stackId,
          version: release.version,
          sourceType: release.sourceType,
          sourceRef: release.sourceRef,
          sha256: release.composeSha256,
          ...content.auditData,
        },
      },
      request,
    );
    const view = releaseView(release);
    publishReleaseCreated(tx.db, scope.orgId, {
      releaseId: release.id,
      stackId,
      version: release.version,
      sourceType: release.sourceType,
      sourceRef: release.sourceRef,
      composeSha256: release.composeSha256,
      createdAt: view.createdAt,
    });
    return view;
  });
}

export async function listStackReleases(
  scope: TenantScope,
  stackId: string,
  page: { limit?: number; beforeVersion?: number },
) {
  await findStack(scope, stackId);
  const items = await listReleases(scope, stackId, page);
  return { items: items.map(releaseSummaryView) };
}

export async function getStackRelease(scope: TenantScope, releaseId: string) {
  return releaseView(await getRelease(scope, releaseId));
}

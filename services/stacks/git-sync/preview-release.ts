/**
 * The release of a pull request's head commit: the stack's git source read at that exact commit (its path, its
 * credential, the same guarded fetch and the same `freezeRelease` as every git release), audited as made by the
 * previews path with the pull request and commit.
 *
 * The one place a preview gets its release. Builds from source (services with `build:`) plug in here: build and
 * push the images of this commit, then freeze the release with the pushed digests, as a normal git release does.
 */
import type { RequestInfo } from "../../_shared/principal.js";
import type { TenantScope } from "../../_shared/tenant.js";
import { fetchGitReleaseSource } from "../git-credentials/index.js";
import { freezeRelease, type ReleaseSettings } from "../releases.logic.js";
import { findStack } from "../stacks.logic.js";
import type { SyncSourceRow } from "./sources.repo.js";

const NO_REQUEST: RequestInfo = { ip: null, userAgent: null };

export interface PullRequestReleaseInput {
  sourceId: string;
  prNumber: number;
  commit: string;
}

export async function createPullRequestRelease(
  scope: TenantScope,
  input: PullRequestReleaseInput,
  settings: ReleaseSettings,
): Promise<{ id: string; version: number; composeYaml: string }> {
  const source = (await scope.from<SyncSourceRow>("git_sync_sources").where({ id: input.sourceId }).first()) as
    SyncSourceRow | undefined;
  if (!source) throw new Error(`git sync source ${input.sourceId} vanished`);
  const stack = await findStack(scope, source.stack_id);
  const fetched = await fetchGitReleaseSource(
    scope,
    null,
    { repoUrl: source.repo_url, ref: input.commit, path: source.path, credentialId: source.credential_id ?? undefined },
    {
      maxBytes: settings.composeMaxBytes,
      timeoutMs: settings.gitTimeoutMs,
      allowedSchemes: settings.gitAllowedSchemes,
    },
    settings.gitCredentials,
    NO_REQUEST,
  );
  const release = await freezeRelease(
    scope,
    { actorType: "system", actorId: "previews", userId: null },
    stack,
    {
      sourceType: "git",
      composeYaml: fetched.content,
      manifestYaml: fetched.manifestYaml,
      sourceRef: fetched.sourceRef,
      auditData: { syncSourceId: source.id, commit: fetched.commit, pullRequest: input.prNumber, trigger: "preview" },
    },
    settings,
    NO_REQUEST,
  );
  return { id: release.id, version: release.version, composeYaml: release.composeYaml };
}

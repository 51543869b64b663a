/**
 * What the forge is told about a preview: `pending` when a deployment of the head commit starts, `success` with
 * the URL (and a comment on the pull request) or `failure` when it ends. Only when the stack's settings name a
 * forge and hold a token; the outcome (call and HTTP status, never the token or a response body) is logged.
 */
import type { MasterKeys } from "../../_shared/master-keys.js";
import { postCommitStatus, postPullRequestComment, type ForgeCallResult, type ForgeSettings } from "./forge.js";
import type { PreviewRow } from "./previews.logic.js";
import { decryptForgeToken, type PreviewSettingsRow } from "./settings.js";

export async function announcePreview(
  forge: ForgeSettings,
  keys: MasterKeys,
  settings: PreviewSettingsRow | undefined,
  preview: Pick<PreviewRow, "pr_number" | "head_commit" | "status" | "url" | "error_code">,
): Promise<ForgeCallResult[]> {
  if (!settings?.forge_kind || !settings.forge_api_url || !settings.forge_repo) return [];
  const token = decryptForgeToken(keys, settings);
  if (token === null) return [];
  const target = { kind: settings.forge_kind, apiUrl: settings.forge_api_url, repo: settings.forge_repo, token };
  const env = `pr-${preview.pr_number}`;
  const short = preview.head_commit.slice(0, 12);
  switch (preview.status) {
    case "building":
      return [await postCommitStatus(forge, target, preview.head_commit, "pending", `building ${env}`, null)];
    case "deploying":
      return [await postCommitStatus(forge, target, preview.head_commit, "pending", `deploying ${env}`, null)];
    case "running": {
      const where = preview.url ?? "no published port";
      return [
        await postCommitStatus(forge, target, preview.head_commit, "success", `${env} is up: ${where}`, preview.url),
        await postPullRequestComment(
          forge,
          target,
          preview.pr_number,
          `Preview environment \`${env}\` runs commit ${short}: ${where}`,
        ),
      ];
    }
    case "failed":
      return [
        await postCommitStatus(
          forge,
          target,
          preview.head_commit,
          "failure",
          `${env} failed to ${preview.error_code?.startsWith("BUILD_") ? "build" : "deploy"} (${preview.error_code ?? "FAILED"})`,
          null,
        ),
      ];
    default:
      return [];
  }
}

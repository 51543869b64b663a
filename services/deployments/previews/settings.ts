/**
 * A stack's preview settings: the git source whose pull requests make previews, the template environment they
 * copy, limits, TTL, and the forge the status is posted back to with a write-only token (AES-256-GCM under the
 * master key, bound to org and stack; never returned, never logged, audited as "set" or "kept" only).
 */
import type { Knex } from "knex";
import { MasterKeyConfigError, type MasterKeys } from "../../_shared/master-keys.js";
import { NotFoundError, UnprocessableError } from "../../_shared/errors.js";
import type { Principal, RequestInfo } from "../../_shared/principal.js";
import type { OpBody } from "../../_shared/rest.js";
import type { TenantScope } from "../../_shared/tenant.js";
import { actorOf, recordAudit } from "../../audit/index.js";
import { decryptAtRest, encryptAtRest, findEnvironment, findStack } from "../../stacks/index.js";

export type ForgeKind = "github" | "gitlab" | "gitea";

export interface PreviewSettingsRow {
  stack_id: string;
  org_id: string;
  enabled: boolean;
  source_id: string;
  template_environment_id: string;
  copy_secrets: string[];
  cpu_limit: string | null;
  memory_limit: string | null;
  ttl_seconds: number;
  url_host: string;
  forge_kind: ForgeKind | null;
  forge_api_url: string | null;
  forge_repo: string | null;
  token_ciphertext: Buffer | null;
  token_nonce: Buffer | null;
  token_auth_tag: Buffer | null;
  token_key_id: string | null;
  updated_by: string | null;
  updated_at: Date;
}

const aadOf = (orgId: string, stackId: string): Buffer =>
  Buffer.from(JSON.stringify(["stackyard.preview-forge-token.v1", orgId, stackId]));

export function decryptForgeToken(keys: MasterKeys, row: PreviewSettingsRow): string | null {
  if (!row.token_ciphertext || !row.token_nonce || !row.token_auth_tag || !row.token_key_id) return null;
  return decryptAtRest(
    keys,
    { ciphertext: row.token_ciphertext, nonce: row.token_nonce, authTag: row.token_auth_tag, keyId: row.token_key_id },
    aadOf(row.org_id, row.stack_id),
  ).toString("utf8");
}

export const previewSettingsView = (r: PreviewSettingsRow) => ({
  stackId: r.stack_id,
  enabled: r.enabled,
  sourceId: r.source_id,
  templateEnvironmentId: r.template_environment_id,
  copySecrets: r.copy_secrets,
  limits: { cpus: r.cpu_limit, memory: r.memory_limit },
  ttlSeconds: r.ttl_seconds,
  urlHost: r.url_host,
  forge:
    r.forge_kind && r.forge_api_url && r.forge_repo
      ? { kind: r.forge_kind, apiUrl: r.forge_api_url, repo: r.forge_repo, tokenSet: r.token_key_id !== null }
      : null,
  updatedAt: r.updated_at.toISOString(),
});

export async function findPreviewSettings(scope: TenantScope, stackId: string): Promise<PreviewSettingsRow> {
  const row = (await scope.from<PreviewSettingsRow>("preview_settings").where({ stack_id: stackId }).first()) as
    PreviewSettingsRow | undefined;
  if (!row) throw new NotFoundError("PREVIEW_SETTINGS_NOT_FOUND", "previews are not set up for this stack");
  return row;
}

export async function getPreviewSettings(scope: TenantScope, stackId: string) {
  await findStack(scope, stackId);
  return previewSettingsView(await findPreviewSettings(scope, stackId));
}

const CPUS = /^(?:0\.[0-9]{1,3}|[1-9][0-9]{0,2}(?:\.[0-9]{1,3})?)$/;
const MEMORY = /^[1-9][0-9]{0,5}[kmg]$/i;

export async function putPreviewSettings(
  scope: TenantScope,
  principal: Principal,
  stackId: string,
  body: OpBody<"putPreviewSettings">,
  keys: MasterKeys,
  request: RequestInfo,
) {
  // An unknown stack is 404 whatever the body says.
  await findStack(scope, stackId);
  const invalid = (code: string, message: string, field: string) => new UnprocessableError(code, message, { field });
  if (body.limits?.cpus != null && !CPUS.test(body.limits.cpus)) {
    throw invalid("PREVIEW_LIMIT_INVALID", "limits.cpus is a number of CPUs such as 0.5 or 2", "limits.cpus");
  }
  if (body.limits?.memory != null && !MEMORY.test(body.limits.memory)) {
    throw invalid("PREVIEW_LIMIT_INVALID", "limits.memory is a size such as 256m or 1g", "limits.memory");
  }
  if (body.forge) {
    let url: URL | undefined;
    try {
      url = new URL(body.forge.apiUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.username || url.password) {
      throw invalid("PREVIEW_FORGE_URL_INVALID", "forge.apiUrl is an http(s) URL without credentials", "forge.apiUrl");
    }
  }
  return scope.transaction(async (tx) => {
    await findStack(tx, stackId);
    const source = (await tx.from("git_sync_sources").where({ id: body.sourceId }).first("stack_id")) as
      { stack_id: string } | undefined;
    if (!source) throw new NotFoundError("SYNC_SOURCE_NOT_FOUND", "git sync source not found");
    if (source.stack_id !== stackId) {
      throw invalid("SYNC_SOURCE_OTHER_STACK", "the source belongs to another stack", "sourceId");
    }
    const template = await findEnvironment(tx, body.templateEnvironmentId);
    if (template.stack_id !== stackId) {
      throw invalid(
        "PREVIEW_TEMPLATE_OTHER_STACK",
        "the template environment belongs to another stack",
        "templateEnvironmentId",
      );
    }
    const existing = (await tx
      .from<PreviewSettingsRow>("preview_settings")
      .where({ stack_id: stackId })
      .forUpdate()
      .first()) as PreviewSettingsRow | undefined;
    let token: Record<string, Buffer | string | null>;
    if (!body.forge) {
      token = { token_ciphertext: null, token_nonce: null, token_auth_tag: null, token_key_id: null };
    } else if (body.forge.token !== undefined) {
      const e = encryptAtRest(keys, body.forge.token, aadOf(scope.orgId, stackId));
      token = {
        token_ciphertext: e.ciphertext,
        token_nonce: e.nonce,
        token_auth_tag: e.authTag,
        token_key_id: e.keyId,
      };
    } else {
      token = {
        token_ciphertext: existing?.token_ciphertext ?? null,
        token_nonce: existing?.token_nonce ?? null,
        token_auth_tag: existing?.token_auth_tag ?? null,
        token_key_id: existing?.token_key_id ?? null,
      };
    }
    const columns = {
      enabled: body.enabled ?? true,
      source_id: body.sourceId,
      template_environment_id: body.templateEnvironmentId,
      copy_secrets: body.copySecrets ?? [],
      cpu_limit: body.limits?.cpus ?? null,
      memory_limit: body.limits?.memory ?? null,
      ttl_seconds: body.ttlSeconds,
      url_host: body.urlHost ?? "localhost",
      forge_kind: body.forge?.kind ?? null,
      forge_api_url: body.forge?.apiUrl.replace(/\/+$/, "") ?? null,
      forge_repo: body.forge?.repo ?? null,
      ...token,
      updated_by: principal.userId,
      updated_at: tx.db.fn.now(),
    };
    const [row] = (
      existing
        ? await tx.from("preview_settings").where({ stack_id: stackId }).update(columns).returning("*")
        : await tx.insert("preview_settings", { stack_id: stackId, ...columns }).returning("*")
    ) as PreviewSettingsRow[];
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "preview_settings.put",
        targetType: "stack",
        targetId: stackId,
        data: {
          enabled: columns.enabled,
          sourceId: body.sourceId,
          templateEnvironmentId: body.templateEnvironmentId,
          copySecretNames: columns.copy_secrets,
          ttlSeconds: body.ttlSeconds,
          forge: body.forge ? { kind: body.forge.kind, apiUrl: columns.forge_api_url, repo: body.forge.repo } : null,
          forgeToken: !body.forge ? "none" : body.forge.token !== undefined ? "set" : "kept",
        },
      },
      request,
    );
    return previewSettingsView(row!);
  });
}

export async function deletePreviewSettings(
  scope: TenantScope,
  principal: Principal,
  stackId: string,
  request: RequestInfo,
): Promise<void> {
  await scope.transaction(async (tx) => {
    await findPreviewSettings(tx, stackId);
    await tx.from("preview_settings").where({ stack_id: stackId }).delete();
    await recordAudit(
      tx,
      { ...actorOf(principal), action: "preview_settings.delete", targetType: "stack", targetId: stackId },
      request,
    );
  });
}

/** Start-up and rotation check: every stored forge token decrypts under the configured keys. */
export async function verifyForgeTokenKeys(db: Knex, keys: MasterKeys): Promise<{ checkedKeyIds: string[] }> {
  const rows = (await db("preview_settings").whereNotNull("token_key_id")) as PreviewSettingsRow[];
  const problems: string[] = [];
  for (const row of rows) {
    try {
      decryptForgeToken(keys, row);
    } catch (err) {
      problems.push(`preview forge tokens: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new MasterKeyConfigError(problems);
  return { checkedKeyIds: [...new Set(rows.map((r) => r.token_key_id ?? ""))] };
}

/** Master-key rotation of forge tokens (scripts/rotate-master-key.ts): the few rows in one transaction. */
export async function rotateForgeTokens(db: Knex, keys: MasterKeys): Promise<{ reencrypted: number }> {
  return db.transaction(async (trx) => {
    const rows = (await trx("preview_settings")
      .whereNotNull("token_key_id")
      .whereNot("token_key_id", keys.activeKeyId)
      .forUpdate()) as PreviewSettingsRow[];
    for (const row of rows) {
      const token = decryptForgeToken(keys, row) ?? "";
      const e = encryptAtRest(keys, token, aadOf(row.org_id, row.stack_id));
      await trx("preview_settings").where({ stack_id: row.stack_id, org_id: row.org_id }).update({
        token_ciphertext: e.ciphertext,
        token_nonce: e.nonce,
        token_auth_tag: e.authTag,
        token_key_id: e.keyId,
      });
    }
    return { reencrypted: rows.length };
  });
}

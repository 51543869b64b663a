/**
 * API tokens: created with a subset of the creator's permissions, shown once, revocable, always expiring (at most
 * the configured lifetime). A token minted by a token never outlives its parent and is revoked with it.
 */
import { ForbiddenError, NotFoundError, UnprocessableError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import { generateApiToken, hashTokenSecret, type TokenHashKey } from "./api-tokens.js";
import { apiTokenView, type ApiTokenRow } from "./views.js";
import type { OpBody } from "../_shared/rest.js";

export type CreateTokenInput = OpBody<"createToken">;

export interface TokenPolicy {
  hashKeys: readonly TokenHashKey[];
  maxLifetimeDays: number;
}

export async function createApiToken(
  scope: TenantScope,
  principal: Principal,
  input: CreateTokenInput,
  request: RequestInfo,
  policy: TokenPolicy,
) {
  const beyond = input.scopes.filter((s) => !principal.permissions.includes(s));
  if (beyond.length > 0) {
    throw new ForbiddenError(
      "SCOPE_NOT_ALLOWED",
      `a token cannot carry permissions you do not have: ${beyond.join(", ")}`,
      {
        scopes: beyond,
      },
    );
  }
  const now = Date.now();
  const latest = new Date(now + policy.maxLifetimeDays * 24 * 3600 * 1000);
  const requested = input.expiresAt ? new Date(input.expiresAt) : null;
  if (requested && requested.getTime() <= now) {
    throw new UnprocessableError("EXPIRY_IN_PAST", "expiresAt must be in the future");
  }
  if (requested && requested > latest) {
    throw new UnprocessableError(
      "EXPIRY_TOO_FAR",
      `expiresAt is beyond the longest token lifetime (${policy.maxLifetimeDays} days, until ${latest.toISOString()})`,
    );
  }
  let expiresAt = requested ?? latest;
  if (principal.tokenId) {
    const parent = (await scope.from<ApiTokenRow>("api_tokens").where({ id: principal.tokenId }).first()) as
      ApiTokenRow | undefined;
    if (!parent) throw new NotFoundError("TOKEN_NOT_FOUND", "the token making this request no longer exists");
    if (parent.expires_at && expiresAt > parent.expires_at) {
      if (requested) {
        throw new UnprocessableError(
          "EXPIRY_BEYOND_PARENT",
          `a token cannot outlive the token that creates it (until ${parent.expires_at.toISOString()})`,
        );
      }
      expiresAt = parent.expires_at;
    }
  }
  const generated = generateApiToken();
  const tokenHash = hashTokenSecret(policy.hashKeys, generated.secret);
  return scope.transaction(async (tx) => {
    const [row] = (await tx
      .insert("api_tokens", {
        created_by: principal.userId,
        name: input.name,
        token_prefix: generated.prefix,
        token_hash: tokenHash,
        scopes: [...new Set(input.scopes)].sort(),
        expires_at: expiresAt,
        parent_token_id: principal.tokenId,
      })
      .returning("*")) as ApiTokenRow[];
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "token.create",
        targetType: "api_token",
        targetId: row!.id,
        data: {
          name: input.name,
          prefix: generated.prefix,
          scopes: row!.scopes,
          expiresAt: expiresAt.toISOString(),
          parentTokenId: principal.tokenId,
        },
      },
      request,
    );
    return { ...apiTokenView(row!), token: generated.token };
  });
}

/** ORG_ADMIN (users:write) sees every token of the org; others see their own. */
const canManageOthers = (principal: Principal): boolean => principal.permissions.includes("users:write");

export async function listApiTokens(scope: TenantScope, principal: Principal) {
  const q = scope.from<ApiTokenRow>("api_tokens").orderBy("created_at", "desc");
  if (!canManageOthers(principal)) q.where({ created_by: principal.userId });
  const rows = (await q) as ApiTokenRow[];
  return { items: rows.map(apiTokenView) };
}

export async function revokeApiToken(scope: TenantScope, principal: Principal, tokenId: string, request: RequestInfo) {
  return scope.transaction(async (tx) => {
    const q = tx.from<ApiTokenRow>("api_tokens").where({ id: tokenId }).forUpdate();
    if (!canManageOthers(principal)) q.where({ created_by: principal.userId });
    const row = (await q.first()) as ApiTokenRow | undefined;
    if (!row) throw new NotFoundError("TOKEN_NOT_FOUND", "no such API token");
    if (row.revoked_at) return apiTokenView(row);
    const revokedAt = new Date();
    const [updated] = (await tx
      .from<ApiTokenRow>("api_tokens")
      .where({ id: tokenId })
      .update({ revoked_at: revokedAt })
      .returning("*")) as ApiTokenRow[];
    // Tokens it minted (and theirs) die with it; authentication also refuses a token whose ancestor is revoked.
    const descendants: string[] = [];
    for (let level = [tokenId]; level.length > 0;) {
      const children = (await tx
        .from<ApiTokenRow>("api_tokens")
        .whereIn("parent_token_id", level)
        .whereNull("revoked_at")
        .update({ revoked_at: revokedAt })
        .returning("id")) as Array<{ id: string }>;
      level = children.map((c) => c.id);
      descendants.push(...level);
    }
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "token.revoke",
        targetType: "api_token",
        targetId: tokenId,
        data: { name: row.name, prefix: row.token_prefix, alsoRevoked: descendants },
      },
      request,
    );
    return apiTokenView(updated!);
  });
}

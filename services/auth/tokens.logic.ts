/** API tokens: created with a subset of the creator's permissions, shown once, revocable, optionally expiring. */
import { ForbiddenError, NotFoundError, UnprocessableError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import { generateApiToken } from "./api-tokens.js";
import { hashSecret } from "./passwords.js";
import { apiTokenView, type ApiTokenRow } from "./views.js";
import type { OpBody } from "../_shared/rest.js";

export type CreateTokenInput = OpBody<"createToken">;

export async function createApiToken(
  scope: TenantScope,
  principal: Principal,
  input: CreateTokenInput,
  request: RequestInfo,
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
  const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
  if (expiresAt && expiresAt <= new Date()) {
    throw new UnprocessableError("EXPIRY_IN_PAST", "expiresAt must be in the future");
  }
  const generated = generateApiToken();
  const tokenHash = await hashSecret(generated.secret);
  return scope.transaction(async (tx) => {
    const [row] = (await tx
      .insert("api_tokens", {
        created_by: principal.userId,
        name: input.name,
        token_prefix: generated.prefix,
        token_hash: tokenHash,
        scopes: [...new Set(input.scopes)].sort(),
        expires_at: expiresAt,
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
          expiresAt: expiresAt?.toISOString() ?? null,
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
    const [updated] = (await tx
      .from<ApiTokenRow>("api_tokens")
      .where({ id: tokenId })
      .update({ revoked_at: new Date() })
      .returning("*")) as ApiTokenRow[];
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "token.revoke",
        targetType: "api_token",
        targetId: tokenId,
        data: { name: row.name, prefix: row.token_prefix },
      },
      request,
    );
    return apiTokenView(updated!);
  });
}

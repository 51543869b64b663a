/**
 * Turns a presented bearer credential (access JWT or API token) into a verified Principal. Verified
 * credentials are cached briefly; revocation events drop them from every instance's cache at once.
 */
import type { Db } from "../_shared/db.js";
import { UnauthorizedError } from "../_shared/errors.js";
import { effectivePermissions, type Permission } from "../_shared/permissions.js";
import type { Principal } from "../_shared/principal.js";
import { TtlCache } from "../_shared/ttl-cache.js";
import { verifyAccessToken, type AccessTokenSettings } from "./access-tokens.js";
import {
  credentialFingerprint,
  hashTokenSecret,
  isApiTokenShaped,
  parseApiToken,
  tokenHashKeys,
  verifyTokenSecret,
} from "./api-tokens.js";
import { verifySecret } from "./passwords.js";
import { isFamilyLive } from "./sessions.repo.js";
import type { ApiTokenRow, UserRow } from "./views.js";

export const CREDENTIAL_CACHE_MAX_ENTRIES = 10_000;

export interface Authenticator {
  authenticate(authorizationHeader: string | undefined): Promise<Principal | null>;
  /** Called for `auth.credentials.revoked` broadcasts. */
  forget(revoked: { tokenId?: string; sessionId?: string; userId?: string; userIds?: string[] }): void;
}

export function createAuthenticator(deps: {
  db: Db;
  accessTokens: AccessTokenSettings;
  cacheTtlSeconds: number;
}): Authenticator {
  const hashKeys = tokenHashKeys(deps.accessTokens.keys);
  const cache = new TtlCache<Principal & { expiresAtMs: number | null; lineage: string[] }>(
    deps.cacheTtlSeconds * 1000,
    CREDENTIAL_CACHE_MAX_ENTRIES,
  );

  function remember(key: string, principal: Principal, expiresAtMs: number | null, lineage: string[] = []): Principal {
    const ttl = Math.min(deps.cacheTtlSeconds * 1000, expiresAtMs === null ? Infinity : expiresAtMs - Date.now());
    cache.set(key, { ...principal, expiresAtMs, lineage }, ttl);
    return principal;
  }

  /** The tokens that minted this one, nearest first (bounded: a chain is a handful of CI tokens at most). */
  async function ancestorsOf(parentId: string): Promise<Array<Pick<ApiTokenRow, "id" | "revoked_at" | "expires_at">>> {
    const result = await deps.db.raw<{ rows: Array<Pick<ApiTokenRow, "id" | "revoked_at" | "expires_at">> }>(
      `WITH RECURSIVE lineage AS (
         SELECT id, parent_token_id, revoked_at, expires_at, 1 AS depth FROM api_tokens WHERE id = ?
         UNION ALL
         SELECT p.id, p.parent_token_id, p.revoked_at, p.expires_at, l.depth + 1
           FROM api_tokens p JOIN lineage l ON p.id = l.parent_token_id WHERE l.depth < 32)
       SELECT id, revoked_at, expires_at FROM lineage ORDER BY depth`,
      [parentId],
    );
    return result.rows;
  }

  async function fromApiToken(token: string, key: string): Promise<Principal> {
    const parts = parseApiToken(token);
    if (!parts) throw new UnauthorizedError("INVALID_TOKEN", "API token is malformed");
    // Pre-authentication lookup by the token's public prefix; the secret is then checked against the hash.
    const row = await deps
      .db<ApiTokenRow & { email: string; role: UserRow["role"] }>("api_tokens")
      .join("users", function () {
        this.on("users.id", "api_tokens.created_by").andOn("users.org_id", "api_tokens.org_id");
      })
      .where("api_tokens.token_prefix", parts.prefix)
      .first("api_tokens.*", "users.email", "users.role");
    if (!row) throw new UnauthorizedError("INVALID_TOKEN", "API token is invalid");
    // Dead tokens are refused before any hashing: the prefix is public, the verdict costs nothing.
    if (row.revoked_at) throw new UnauthorizedError("TOKEN_REVOKED", "API token was revoked");
    if (row.expires_at && row.expires_at <= new Date())
      throw new UnauthorizedError("TOKEN_EXPIRED", "API token expired");
    const lineage = row.parent_token_id ? await ancestorsOf(row.parent_token_id) : [];
    if (lineage.some((a) => a.revoked_at || (a.expires_at && a.expires_at <= new Date()))) {
      throw new UnauthorizedError("TOKEN_REVOKED", "the token that created this API token was revoked or expired");
    }
    const verdict = verifyTokenSecret(hashKeys, row.token_hash, parts.secret);
    const valid = verdict === "legacy" ? await verifySecret(row.token_hash, parts.secret) : verdict;
    if (!valid) throw new UnauthorizedError("INVALID_TOKEN", "API token is invalid");
    await deps
      .db("api_tokens")
      .where({ id: row.id })
      .update({
        last_used_at: deps.db.fn.now(),
        ...(verdict === "legacy" ? { token_hash: hashTokenSecret(hashKeys, parts.secret) } : {}),
      });
    const principal: Principal = {
      orgId: row.org_id,
      userId: row.created_by,
      email: row.email,
      role: row.role,
      actorType: "token",
      actorId: row.id,
      sessionId: null,
      tokenId: row.id,
      permissions: effectivePermissions(row.role, row.scopes as Permission[]),
    };
    return remember(
      key,
      principal,
      row.expires_at ? row.expires_at.getTime() : null,
      lineage.map((a) => a.id),
    );
  }

  async function fromAccessToken(token: string, key: string): Promise<Principal> {
    const claims = verifyAccessToken(deps.accessTokens, token);
    const user = await deps.db<UserRow>("users").where({ id: claims.sub, org_id: claims.org }).first();
    if (!user || !(await isFamilyLive(deps.db, claims.sid))) {
      throw new UnauthorizedError("SESSION_REVOKED", "the session behind this token has ended; log in again");
    }
    const principal: Principal = {
      orgId: user.org_id,
      userId: user.id,
      email: user.email,
      role: user.role,
      actorType: "user",
      actorId: user.id,
      sessionId: claims.sid,
      tokenId: null,
      permissions: effectivePermissions(user.role, null),
    };
    const exp = (JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as { exp: number }).exp;
    return remember(key, principal, exp * 1000);
  }

  return {
    async authenticate(header) {
      if (!header) return null;
      const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
      if (!match) throw new UnauthorizedError("INVALID_AUTHORIZATION_HEADER", "use 'Authorization: Bearer <token>'");
      const credential = match[1]!;
      const key = credentialFingerprint(credential);
      const cached = cache.get(key);
      if (cached) {
        const { expiresAtMs: _expiry, lineage: _lineage, ...principal } = cached;
        return principal;
      }
      return isApiTokenShaped(credential) ? fromApiToken(credential, key) : fromAccessToken(credential, key);
    },
    forget(revoked) {
      cache.deleteWhere(
        (p) =>
          (revoked.tokenId !== undefined && (p.tokenId === revoked.tokenId || p.lineage.includes(revoked.tokenId))) ||
          (revoked.sessionId !== undefined && p.sessionId === revoked.sessionId) ||
          (revoked.userId !== undefined && p.userId === revoked.userId) ||
          (revoked.userIds !== undefined && revoked.userIds.includes(p.userId)),
      );
    },
  };
}

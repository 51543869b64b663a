/** Login, refresh, logout and "who am I" — plain functions over Postgres, no broker. */
import type { Db } from "../_shared/db.js";
import { UnauthorizedError } from "../_shared/errors.js";
import { effectivePermissions } from "../_shared/permissions.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import { TenantScope } from "../_shared/tenant.js";
import { recordAudit } from "../audit/index.js";
import { signAccessToken, type AccessTokenSettings } from "./access-tokens.js";
import {
  ACCOUNT_POLICY,
  SOURCE_POLICY,
  accountKey,
  clearAccountFailures,
  isTrustedSource,
  releaseAttempt,
  rememberTrustedSource,
  reserveAttempt,
  sourceKey,
} from "./login-throttle.js";
import { burnVerification, normaliseEmail, verifySecret } from "./passwords.js";
import { revokeFamily, rotateSession, startSession } from "./sessions.repo.js";
import { orgView, userView, type OrgRow, type UserRow, type UserView } from "./views.js";

export interface AuthDeps {
  db: Db;
  accessTokens: AccessTokenSettings;
  refreshTokenTtlSeconds: number;
}

export interface TokenPair {
  tokenType: "Bearer";
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
}

export interface LoginResult extends TokenPair {
  user: UserView;
}

const INVALID_CREDENTIALS = () => new UnauthorizedError("INVALID_CREDENTIALS", "email or password is incorrect");

export async function login(
  deps: AuthDeps,
  input: { email: string; password: string; orgId?: string | undefined },
  request: RequestInfo,
): Promise<LoginResult> {
  const email = normaliseEmail(input.email);

  // Pre-authentication lookup: the email (and optional org) identify the account; no tenant is known yet.
  const query = deps.db<UserRow>("users").where({ email });
  if (input.orgId) query.andWhere({ org_id: input.orgId });
  const user = await query.orderBy("created_at", "asc").first();

  // Both gates reserve the attempt before any hashing; the source gate first, so an attempt it refuses never
  // counts against the account.
  const ip = request.ip;
  const gatedBySource = ip !== null && !(user && (await isTrustedSource(deps.db, user.id, ip)));
  if (gatedBySource) await reserveAttempt(deps.db, sourceKey(ip), SOURCE_POLICY);
  await reserveAttempt(deps.db, accountKey(user?.org_id ?? input.orgId ?? null, email), ACCOUNT_POLICY);

  const valid = user ? await verifySecret(user.password_hash, input.password) : await burnVerification(input.password);
  if (!user || !valid) {
    if (user) {
      await recordAudit(
        new TenantScope(deps.db, user.org_id),
        { actorType: "user", actorId: user.id, action: "auth.login_failed", targetType: "user", targetId: user.id },
        request,
      );
    }
    throw INVALID_CREDENTIALS();
  }

  await clearAccountFailures(deps.db, user.org_id, email);
  if (ip !== null) {
    if (gatedBySource) await releaseAttempt(deps.db, sourceKey(ip));
    await rememberTrustedSource(deps.db, user.id, ip);
  }
  return deps.db.transaction(async (trx) => {
    const [updated] = await trx<UserRow>("users")
      .where({ id: user.id })
      .update({ last_login_at: trx.fn.now() })
      .returning("*");
    const session = await startSession(trx, { id: user.id, orgId: user.org_id }, deps.refreshTokenTtlSeconds, request);
    await recordAudit(
      new TenantScope(trx, user.org_id),
      { actorType: "user", actorId: user.id, action: "auth.login", targetType: "user", targetId: user.id },
      request,
    );
    const access = signAccessToken(deps.accessTokens, { sub: user.id, org: user.org_id, sid: session.familyId });
    return {
      tokenType: "Bearer",
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt.toISOString(),
      refreshToken: session.refreshToken,
      refreshTokenExpiresAt: session.expiresAt.toISOString(),
      user: userView(updated ?? user),
    };
  });
}

export type RefreshResult =
  { ok: true; tokens: TokenPair; familyId: string } | { ok: false; revokedFamilyId: string; error: UnauthorizedError };

/** Rotates the refresh token. On reuse the family is revoked (committed) and the caller must reject. */
export async function refresh(deps: AuthDeps, refreshToken: string, request: RequestInfo): Promise<RefreshResult> {
  return deps.db.transaction(async (trx) => {
    const outcome = await rotateSession(trx, refreshToken, deps.refreshTokenTtlSeconds, request);
    const scope = new TenantScope(trx, outcome.orgId);
    if (outcome.kind === "reused") {
      await recordAudit(
        scope,
        {
          actorType: "user",
          actorId: outcome.userId,
          action: "auth.refresh_reuse_detected",
          targetType: "session",
          targetId: outcome.familyId,
        },
        request,
      );
      return {
        ok: false,
        revokedFamilyId: outcome.familyId,
        error: new UnauthorizedError("REFRESH_TOKEN_REUSED", "refresh token was already used; the session is revoked"),
      };
    }
    const access = signAccessToken(deps.accessTokens, {
      sub: outcome.userId,
      org: outcome.orgId,
      sid: outcome.issued.familyId,
    });
    return {
      ok: true,
      familyId: outcome.issued.familyId,
      tokens: {
        tokenType: "Bearer",
        accessToken: access.token,
        accessTokenExpiresAt: access.expiresAt.toISOString(),
        refreshToken: outcome.issued.refreshToken,
        refreshTokenExpiresAt: outcome.issued.expiresAt.toISOString(),
      },
    };
  });
}

export async function logout(deps: AuthDeps, principal: Principal, request: RequestInfo): Promise<string> {
  if (!principal.sessionId) {
    throw new UnauthorizedError("NOT_A_SESSION", "logout ends a login session; revoke API tokens instead");
  }
  const familyId = principal.sessionId;
  await deps.db.transaction(async (trx) => {
    await revokeFamily(trx, familyId);
    await recordAudit(
      new TenantScope(trx, principal.orgId),
      {
        actorType: "user",
        actorId: principal.userId,
        action: "auth.logout",
        targetType: "session",
        targetId: familyId,
      },
      request,
    );
  });
  return familyId;
}

export async function whoAmI(deps: AuthDeps, principal: Principal) {
  const scope = new TenantScope(deps.db, principal.orgId);
  const user = await scope.from<UserRow>("users").where({ id: principal.userId }).first();
  const org = await deps.db<OrgRow>("orgs").where({ id: principal.orgId }).first();
  if (!user || !org)
    throw new UnauthorizedError("INVALID_TOKEN", "the account behind this credential no longer exists");
  // The org switcher: every org this email has an account in (the email is the caller's own, verified).
  const memberships = await deps
    .db("users")
    .join("orgs", "orgs.id", "users.org_id")
    .where("users.email", user.email)
    .orderBy("orgs.name")
    .select<{ id: string; name: string; role: string; user_id: string }[]>(
      "orgs.id",
      "orgs.name",
      "users.role",
      "users.id as user_id",
    );
  return {
    user: userView(user),
    org: orgView(org),
    role: user.role,
    permissions: effectivePermissions(user.role, principal.actorType === "token" ? principal.permissions : null),
    actorType: principal.actorType,
    tokenId: principal.tokenId,
    orgs: memberships.map((m) => ({ id: m.id, name: m.name, role: m.role, userId: m.user_id })),
  };
}

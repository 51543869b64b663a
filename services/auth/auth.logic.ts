/** Login (with its MFA second step), refresh, logout and "who am I" — plain functions over Postgres, no broker. */
import type { Knex } from "knex";
import { loginFailures } from "../_shared/metrics.js";
import type { Db } from "../_shared/db.js";
import { ConflictError, UnauthorizedError } from "../_shared/errors.js";
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
import {
  beginEnrollment,
  checkSecondFactor,
  confirmEnrollment,
  confirmedFactorOf,
  policyCovers,
  type FactorUsed,
  type MfaDeps,
} from "./mfa.logic.js";
import { consumeChallenge, findChallenge, issueChallenge, type ChallengePurpose } from "./mfa-challenges.js";
import { burnVerification, normaliseEmail, verifySecret } from "./passwords.js";
import { revokeFamily, rotateSession, startSession } from "./sessions.repo.js";
import { orgView, userView, type OrgRow, type UserRow, type UserView } from "./views.js";

export interface AuthDeps {
  db: Db;
  accessTokens: AccessTokenSettings;
  refreshTokenTtlSeconds: number;
  /** Refresh tokens never outlive the login that started their family by more than this. */
  sessionMaxLifetimeSeconds: number;
  /** The same database handle, with the master keys TOTP secrets are encrypted under. */
  mfa: MfaDeps;
}

const sessionLimits = (deps: AuthDeps) => ({
  ttlSeconds: deps.refreshTokenTtlSeconds,
  maxLifetimeSeconds: deps.sessionMaxLifetimeSeconds,
});

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

/** Accounts of one email tried by a login without an org (each costs one password hash check). */
export const MAX_LOGIN_CANDIDATES = 5;

const INVALID_CREDENTIALS = () => new UnauthorizedError("INVALID_CREDENTIALS", "email or password is incorrect");

export async function login(
  deps: AuthDeps,
  input: { email: string; password: string; orgId?: string | undefined },
  request: RequestInfo,
): Promise<LoginResult> {
  const email = normaliseEmail(input.email);

  // Pre-authentication lookup: the email (and optional org) name the candidate accounts; no tenant is known yet.
  // Without an org, every account of that email is a candidate and the password decides which one: logging in
  // never picks an account the caller has not proved the password of.
  const query = deps.db<UserRow>("users").where({ email });
  if (input.orgId) query.andWhere({ org_id: input.orgId });
  const candidates = await query.orderBy("created_at", "asc").limit(MAX_LOGIN_CANDIDATES);

  // Both gates reserve the attempt before any hashing; the source gate first, so an attempt it refuses never
  // counts against an account.
  const ip = request.ip;
  let gatedBySource = ip !== null;
  for (const c of candidates)
    if (gatedBySource && ip !== null && (await isTrustedSource(deps.db, c.id, ip))) gatedBySource = false;
  if (gatedBySource && ip !== null) await reserveAttempt(deps.db, sourceKey(ip), SOURCE_POLICY);
  if (candidates.length === 0) await reserveAttempt(deps.db, accountKey(input.orgId ?? null, email), ACCOUNT_POLICY);
  for (const c of candidates) await reserveAttempt(deps.db, accountKey(c.org_id, email), ACCOUNT_POLICY);

  const matched: UserRow[] = [];
  for (const c of candidates) if (await verifySecret(c.password_hash, input.password)) matched.push(c);
  if (candidates.length === 0) await burnVerification(input.password);
  const failed = candidates.filter((c) => !matched.includes(c));
  for (const c of failed) {
    await recordAudit(
      new TenantScope(deps.db, c.org_id),
      { actorType: "user", actorId: c.id, action: "auth.login_failed", targetType: "user", targetId: c.id },
      request,
    );
  }
  const user = matched[0];
  if (!user) {
    loginFailures.inc({ reason: "bad_credentials" });
    throw INVALID_CREDENTIALS();
  }

  for (const m of matched) await clearAccountFailures(deps.db, m.org_id, email);
  if (ip !== null) {
    if (gatedBySource) await releaseAttempt(deps.db, sourceKey(ip));
    for (const m of matched) await rememberTrustedSource(deps.db, m.id, ip);
  }
  if (matched.length > 1) {
    // The caller proved the password of each of these accounts, and of no other: they may see these orgs.
    const orgs = await deps
      .db<OrgRow>("orgs")
      .whereIn(
        "id",
        matched.map((m) => m.org_id),
      )
      .orderBy("name");
    throw new ConflictError(
      "ORG_SELECTION_REQUIRED",
      "this email and password open accounts in several organizations: choose one (orgId)",
      { orgs: orgs.map((o) => ({ id: o.id, name: o.name })) },
    );
  }
  // The password was right. An account with a second factor answers with the challenge of its second step; one
  // the org's policy obliges to have a factor, without one, must enrol before it gets any session.
  if (await confirmedFactorOf(deps.db, user.id)) {
    const challenge = await issueChallenge(deps.db, user, "login");
    throw new UnauthorizedError(
      "MFA_REQUIRED",
      "enter the code of your authenticator app (or a recovery code) with the challenge token",
      challenge,
    );
  }
  const org = await deps.db<OrgRow>("orgs").where({ id: user.org_id }).first();
  if (org && policyCovers(org.mfa_required_for, user.role)) {
    const challenge = await issueChallenge(deps.db, user, "enroll");
    throw new UnauthorizedError(
      "MFA_ENROLLMENT_REQUIRED",
      "your organization requires MFA: set up an authenticator app to finish logging in",
      challenge,
    );
  }
  return deps.db.transaction((trx) => finishLogin(deps, trx, user, request, { mfa: "none" }));
}

/** The session a completed login gets: last login stamped, a refresh family started, audited as `auth.login`. */
async function finishLogin(
  deps: AuthDeps,
  trx: Knex.Transaction,
  user: UserRow,
  request: RequestInfo,
  auditData: { mfa: "none" | FactorUsed | "enrolled" },
): Promise<LoginResult> {
  const [updated] = await trx<UserRow>("users")
    .where({ id: user.id })
    .update({ last_login_at: trx.fn.now() })
    .returning("*");
  const session = await startSession(trx, { id: user.id, orgId: user.org_id }, sessionLimits(deps), request);
  await recordAudit(
    new TenantScope(trx, user.org_id),
    {
      actorType: "user",
      actorId: user.id,
      action: "auth.login",
      targetType: "user",
      targetId: user.id,
      data: auditData,
    },
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
}

async function challengedUser(deps: AuthDeps, challengeToken: string, purpose: ChallengePurpose) {
  const challenge = await findChallenge(deps.db, challengeToken, purpose);
  const user = await deps.db<UserRow>("users").where({ id: challenge.user_id, org_id: challenge.org_id }).first();
  if (!user) throw new UnauthorizedError("MFA_CHALLENGE_INVALID", "this login step is no longer valid; log in again");
  return { challenge, user };
}

/** Second step of a login: the challenge of a right password plus a TOTP or recovery code open the session. */
export async function completeMfaLogin(
  deps: AuthDeps,
  input: { challengeToken: string; code: string },
  request: RequestInfo,
): Promise<LoginResult> {
  const { challenge, user } = await challengedUser(deps, input.challengeToken, "login");
  const factor = await confirmedFactorOf(deps.db, user.id);
  if (!factor) throw new UnauthorizedError("MFA_CHALLENGE_INVALID", "MFA was turned off meanwhile; log in again");
  const used = await checkSecondFactor(deps.mfa, factor, user, input.code, {
    allowRecovery: true,
    refuseAs: 401,
    request,
  });
  return deps.db.transaction(async (trx) => {
    await consumeChallenge(trx, challenge.id);
    if (used === "recovery") {
      await recordAudit(
        new TenantScope(trx, user.org_id),
        {
          actorType: "user",
          actorId: user.id,
          action: "auth.mfa_recovery_code_used",
          targetType: "user",
          targetId: user.id,
        },
        request,
      );
    }
    return finishLogin(deps, trx, user, request, { mfa: used });
  });
}

/** Enrolment forced by the org's policy, inside a login: the secret for the challenged account (shown once). */
export async function startLoginEnrollment(deps: AuthDeps, challengeToken: string, request: RequestInfo) {
  const { user } = await challengedUser(deps, challengeToken, "enroll");
  const enrollment = await beginEnrollment(deps.mfa, deps.db, user);
  await recordAudit(
    new TenantScope(deps.db, user.org_id),
    {
      actorType: "user",
      actorId: user.id,
      action: "auth.mfa_enrollment_started",
      targetType: "user",
      targetId: user.id,
    },
    request,
  );
  return enrollment;
}

/** Its confirmation by a first code turns MFA on and finishes the login; the recovery codes come back once. */
export async function confirmLoginEnrollment(
  deps: AuthDeps,
  input: { challengeToken: string; code: string },
  request: RequestInfo,
): Promise<LoginResult & { recoveryCodes: string[] }> {
  const { challenge, user } = await challengedUser(deps, input.challengeToken, "enroll");
  let result: LoginResult | undefined;
  const { recoveryCodes } = await confirmEnrollment(
    deps.mfa,
    user,
    input.code,
    { refuseAs: 401, request },
    async (trx) => {
      await consumeChallenge(trx, challenge.id);
      result = await finishLogin(deps, trx, user, request, { mfa: "enrolled" });
    },
  );
  if (!result) throw new Error("login not finished");
  return { ...result, recoveryCodes };
}

export type RefreshResult =
  { ok: true; tokens: TokenPair; familyId: string } | { ok: false; revokedFamilyId: string; error: UnauthorizedError };

/** Rotates the refresh token. On reuse the family is revoked (committed) and the caller must reject. */
export async function refresh(deps: AuthDeps, refreshToken: string, request: RequestInfo): Promise<RefreshResult> {
  return deps.db.transaction(async (trx) => {
    const outcome = await rotateSession(trx, refreshToken, sessionLimits(deps), request);
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
  return {
    user: userView(user),
    org: orgView(org),
    role: user.role,
    permissions: effectivePermissions(user.role, principal.actorType === "token" ? principal.permissions : null),
    actorType: principal.actorType,
    tokenId: principal.tokenId,
    // Only the org of this session: an email is not proof of owning the same address's accounts elsewhere (an
    // admin of another org can create an account for any email). Other orgs are reached by logging in to them.
    orgs: [{ id: org.id, name: org.name, role: user.role, userId: user.id }],
  };
}

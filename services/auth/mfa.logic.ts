/**
 * Multi-factor authentication with TOTP: enrolment (a secret shown once, confirmed by a first code), the check of a
 * second factor (a TOTP code, never the same time step twice, or a one-time recovery code), disabling it,
 * new recovery codes, an admin's reset of a user's factor, and the org's policy of who must have one.
 * Every code check is throttled like a password (reserved before it is checked) and audited; no secret or code is
 * ever written to the audit log, a log line or an event.
 */
import type { Knex } from "knex";
import type { Db } from "../_shared/db.js";
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ServiceUnavailableError,
  UnauthorizedError,
} from "../_shared/errors.js";
import type { MasterKeys } from "../_shared/master-keys.js";
import type { Role } from "../_shared/permissions.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import { ACCOUNT_POLICY, reserveAttempt, type ThrottlePolicy } from "./login-throttle.js";
import { decryptTotpSecret, encryptTotpSecret, type MfaCipherColumns } from "./mfa-crypto.js";
import {
  looksLikeRecoveryCode,
  replaceRecoveryCodes,
  spendRecoveryCode,
  unusedRecoveryCodes,
} from "./recovery-codes.js";
import { base32Encode, matchTotp, newTotpSecret, otpauthUri } from "./totp.js";
import type { OrgRow, UserRow } from "./views.js";

export const MFA_POLICIES = ["none", "admins", "all"] as const;
export type MfaPolicy = (typeof MFA_POLICIES)[number];

/** Whether the org's policy obliges a user of `role` to have a second factor. `admins` means ORG_ADMIN. */
export const policyCovers = (policy: MfaPolicy, role: Role): boolean =>
  policy === "all" || (policy === "admins" && role === "ORG_ADMIN");

/** Wrong codes per user: the same budget and growing locks as wrong passwords of an account. */
export const MFA_THROTTLE_POLICY: ThrottlePolicy = ACCOUNT_POLICY;
export const mfaThrottleKey = (userId: string): string => `mfa:${userId}`;

export const MFA_ISSUER = "Stackyard";

export interface MfaDeps {
  db: Db;
  masterKeys: MasterKeys;
}

export interface UserMfaRow extends MfaCipherColumns {
  id: string;
  user_id: string;
  org_id: string;
  created_at: Date;
  confirmed_at: Date | null;
  /** bigint: knex reads it as a string. */
  last_used_step: string | null;
}

export interface MfaEnrollment {
  secret: string;
  otpauthUri: string;
}

type Tx = Db | Knex.Transaction;

async function factorOf(db: Tx, userId: string): Promise<UserMfaRow | undefined> {
  return db<UserMfaRow>("user_mfa").where({ user_id: userId }).first();
}

export async function confirmedFactorOf(db: Tx, userId: string): Promise<UserMfaRow | undefined> {
  const row = await factorOf(db, userId);
  return row?.confirmed_at ? row : undefined;
}

const userAudit = (user: { id: string }) => ({ actorType: "user" as const, actorId: user.id });

/** Starts (or restarts) an enrolment: a fresh secret stored encrypted and unconfirmed, shown this once. */
export async function beginEnrollment(
  deps: MfaDeps,
  db: Tx,
  user: Pick<UserRow, "id" | "org_id" | "email">,
): Promise<MfaEnrollment> {
  const existing = await factorOf(db, user.id);
  if (existing?.confirmed_at) {
    throw new ConflictError("MFA_ALREADY_ENABLED", "MFA is already on for this account; disable it first to re-enrol");
  }
  const secret = newTotpSecret();
  try {
    const sealed = encryptTotpSecret(deps.masterKeys, secret, { orgId: user.org_id, userId: user.id });
    await db("user_mfa")
      .insert({ user_id: user.id, org_id: user.org_id, ...sealed })
      .onConflict("user_id")
      .merge({ ...sealed, created_at: db.fn.now(), confirmed_at: null, last_used_step: null });
    return { secret: base32Encode(secret), otpauthUri: otpauthUri(secret, MFA_ISSUER, user.email) };
  } finally {
    secret.fill(0);
  }
}

export type FactorUsed = "totp" | "recovery";

/** A secret that does not decrypt is the installation's fault (wrong or missing master key), never the user's. */
function openSecret(deps: MfaDeps, factor: UserMfaRow, user: Pick<UserRow, "id" | "org_id">): Buffer {
  try {
    return decryptTotpSecret(deps.masterKeys, factor, { orgId: user.org_id, userId: user.id });
  } catch {
    throw new ServiceUnavailableError(
      "MFA_UNAVAILABLE",
      "the MFA secret cannot be read: CONTROLPLANE_MASTER_KEY lacks the key it was encrypted under",
      { keyId: factor.key_id },
    );
  }
}

/**
 * Checks a second factor of `user`: six digits are a TOTP code (±1 step, refused when its step was already used),
 * anything else a recovery code (when allowed, spent on success). Throttled before checking, audited on failure.
 * `refuseAs`: 401 in a login's second step; 403 for a logged-in user, whose session a 401 would end.
 */
export async function checkSecondFactor(
  deps: MfaDeps,
  factor: UserMfaRow,
  user: Pick<UserRow, "id" | "org_id">,
  code: string,
  options: { allowRecovery: boolean; refuseAs: 401 | 403; request: RequestInfo; actor?: Principal },
): Promise<FactorUsed> {
  const db = deps.db;
  await reserveAttempt(db, mfaThrottleKey(user.id), MFA_THROTTLE_POLICY);
  const refuse = async (code: "MFA_INVALID_CODE" | "MFA_CODE_ALREADY_USED", message: string): Promise<never> => {
    await recordAudit(
      new TenantScope(db, user.org_id),
      {
        ...(options.actor ? actorOf(options.actor) : userAudit(user)),
        action: "auth.mfa_failed",
        targetType: "user",
        targetId: user.id,
        data: { reason: code },
      },
      options.request,
    );
    throw options.refuseAs === 401 ? new UnauthorizedError(code, message) : new ForbiddenError(code, message);
  };

  let used: FactorUsed;
  const trimmed = code.trim();
  if (/^\d{6}$/.test(trimmed)) {
    const secret = openSecret(deps, factor, user);
    const step = matchTotp(secret, trimmed, Date.now());
    secret.fill(0);
    if (step === null) return refuse("MFA_INVALID_CODE", "the code is not valid; use the current code of your app");
    // One statement: two requests with the same code cannot both move the step forward.
    const claimed = await db("user_mfa")
      .where({ id: factor.id })
      .andWhere((q) => q.whereNull("last_used_step").orWhere("last_used_step", "<", step))
      .update({ last_used_step: step })
      .returning("id");
    if (claimed.length === 0) {
      return refuse("MFA_CODE_ALREADY_USED", "this code was already used; wait for the next one");
    }
    used = "totp";
  } else if (
    options.allowRecovery &&
    looksLikeRecoveryCode(trimmed) &&
    (await spendRecoveryCode(db, user.id, trimmed))
  ) {
    used = "recovery";
  } else {
    return refuse(
      "MFA_INVALID_CODE",
      options.allowRecovery
        ? "the code is not valid: give the 6-digit code of your app or an unused recovery code"
        : "the code is not valid: give the 6-digit code of your app",
    );
  }
  await db("login_throttle")
    .where({ key: mfaThrottleKey(user.id) })
    .delete();
  return used;
}

/** Marks the pending factor confirmed and issues the first recovery codes; inside the caller's transaction. */
export async function enableFactor(
  trx: Knex.Transaction,
  factor: UserMfaRow,
  user: { id: string; orgId: string },
): Promise<string[]> {
  await trx("user_mfa").where({ id: factor.id }).update({ confirmed_at: trx.fn.now() });
  return replaceRecoveryCodes(trx, user);
}

/** Confirms a pending enrolment with its first code; returns the recovery codes (shown once). */
export async function confirmEnrollment(
  deps: MfaDeps,
  user: Pick<UserRow, "id" | "org_id">,
  code: string,
  options: { refuseAs: 401 | 403; request: RequestInfo; actor?: Principal },
  inTransaction: (trx: Knex.Transaction) => Promise<void> = async () => undefined,
): Promise<{ recoveryCodes: string[] }> {
  const factor = await factorOf(deps.db, user.id);
  if (!factor) throw new ConflictError("MFA_ENROLLMENT_NOT_STARTED", "start an enrolment first");
  if (factor.confirmed_at) throw new ConflictError("MFA_ALREADY_ENABLED", "MFA is already on for this account");
  await checkSecondFactor(deps, factor, user, code, { ...options, allowRecovery: false });
  return deps.db.transaction(async (trx) => {
    const recoveryCodes = await enableFactor(trx, factor, { id: user.id, orgId: user.org_id });
    await recordAudit(
      new TenantScope(trx, user.org_id),
      {
        ...(options.actor ? actorOf(options.actor) : userAudit(user)),
        action: "auth.mfa_enabled",
        targetType: "user",
        targetId: user.id,
      },
      options.request,
    );
    await inTransaction(trx);
    return { recoveryCodes };
  });
}

// ---- the logged-in user's own factor ----

function requireSession(principal: Principal): void {
  if (principal.actorType !== "user" || principal.sessionId === null) {
    throw new ForbiddenError("SESSION_REQUIRED", "MFA is managed from a login session, not with an API token");
  }
}

async function ownAccount(db: Tx, principal: Principal): Promise<{ user: UserRow; org: OrgRow }> {
  const user = (await new TenantScope(db, principal.orgId)
    .from<UserRow>("users")
    .where({ id: principal.userId })
    .first()) as UserRow | undefined;
  const org = await db<OrgRow>("orgs").where({ id: principal.orgId }).first();
  if (!user || !org)
    throw new UnauthorizedError("INVALID_TOKEN", "the account behind this credential no longer exists");
  return { user, org };
}

export async function mfaStatus(deps: MfaDeps, principal: Principal) {
  const { user, org } = await ownAccount(deps.db, principal);
  const factor = await factorOf(deps.db, user.id);
  return {
    enabled: Boolean(factor?.confirmed_at),
    pending: Boolean(factor && !factor.confirmed_at),
    confirmedAt: factor?.confirmed_at ? factor.confirmed_at.toISOString() : null,
    recoveryCodesRemaining: factor?.confirmed_at ? await unusedRecoveryCodes(deps.db, user.id) : 0,
    requiredByOrg: policyCovers(org.mfa_required_for, user.role),
  };
}

export async function startOwnEnrollment(deps: MfaDeps, principal: Principal, request: RequestInfo) {
  requireSession(principal);
  const { user } = await ownAccount(deps.db, principal);
  const enrollment = await beginEnrollment(deps, deps.db, user);
  await recordAudit(
    new TenantScope(deps.db, user.org_id),
    { ...actorOf(principal), action: "auth.mfa_enrollment_started", targetType: "user", targetId: user.id },
    request,
  );
  return enrollment;
}

export async function confirmOwnEnrollment(deps: MfaDeps, principal: Principal, code: string, request: RequestInfo) {
  requireSession(principal);
  const { user } = await ownAccount(deps.db, principal);
  return confirmEnrollment(deps, user, code, { refuseAs: 403, request, actor: principal });
}

async function ownConfirmedFactor(deps: MfaDeps, principal: Principal) {
  requireSession(principal);
  const account = await ownAccount(deps.db, principal);
  const factor = await confirmedFactorOf(deps.db, account.user.id);
  if (!factor) throw new ConflictError("MFA_NOT_ENABLED", "MFA is not on for this account");
  return { ...account, factor };
}

export async function disableOwnMfa(deps: MfaDeps, principal: Principal, code: string, request: RequestInfo) {
  const { user, org, factor } = await ownConfirmedFactor(deps, principal);
  if (policyCovers(org.mfa_required_for, user.role)) {
    throw new ConflictError("MFA_REQUIRED_BY_ORG", "your organization requires MFA for your account: it stays on");
  }
  const used = await checkSecondFactor(deps, factor, user, code, {
    allowRecovery: true,
    refuseAs: 403,
    request,
    actor: principal,
  });
  await deps.db.transaction(async (trx) => {
    await removeFactor(trx, user.id);
    await recordAudit(
      new TenantScope(trx, user.org_id),
      {
        ...actorOf(principal),
        action: "auth.mfa_disabled",
        targetType: "user",
        targetId: user.id,
        data: { with: used },
      },
      request,
    );
  });
  return mfaStatus(deps, principal);
}

export async function regenerateOwnRecoveryCodes(
  deps: MfaDeps,
  principal: Principal,
  code: string,
  request: RequestInfo,
) {
  const { user, factor } = await ownConfirmedFactor(deps, principal);
  const used = await checkSecondFactor(deps, factor, user, code, {
    allowRecovery: true,
    refuseAs: 403,
    request,
    actor: principal,
  });
  return deps.db.transaction(async (trx) => {
    const recoveryCodes = await replaceRecoveryCodes(trx, { id: user.id, orgId: user.org_id });
    await recordAudit(
      new TenantScope(trx, user.org_id),
      {
        ...actorOf(principal),
        action: "auth.mfa_recovery_codes_regenerated",
        targetType: "user",
        targetId: user.id,
        data: { with: used },
      },
      request,
    );
    return { recoveryCodes };
  });
}

async function removeFactor(trx: Tx, userId: string): Promise<void> {
  await trx("mfa_recovery_codes").where({ user_id: userId }).delete();
  await trx("user_mfa").where({ user_id: userId }).delete();
  await trx("login_throttle")
    .where({ key: mfaThrottleKey(userId) })
    .delete();
}

// ---- administration ----

/**
 * An ORG_ADMIN removes a user's factor (a lost phone): the factor and recovery codes go, and every session of the
 * user ends, since whoever holds the lost device may be in one. The user logs in with the password again (and,
 * when the org requires MFA, enrols before anything else). The caller broadcasts the revocation.
 */
export async function resetUserMfa(scope: TenantScope, principal: Principal, userId: string, request: RequestInfo) {
  return scope.transaction(async (tx) => {
    const user = (await tx.from<UserRow>("users").where({ id: userId }).first()) as UserRow | undefined;
    if (!user) throw new NotFoundError("USER_NOT_FOUND", "user not found");
    const factor = (await tx.from<UserMfaRow>("user_mfa").where({ user_id: userId }).first()) as UserMfaRow | undefined;
    await removeFactor(tx.db, userId);
    const revoked = (await tx
      .from("sessions")
      .where({ user_id: userId })
      .whereNull("revoked_at")
      .update({ revoked_at: tx.db.fn.now() })
      .returning("family_id")) as Array<{ family_id: string }>;
    const sessionsRevoked = new Set(revoked.map((r) => r.family_id)).size;
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "auth.mfa_reset",
        targetType: "user",
        targetId: userId,
        data: { email: user.email, hadMfa: Boolean(factor?.confirmed_at), sessionsRevoked },
      },
      request,
    );
    return { userId, mfaEnabled: false, sessionsRevoked };
  });
}

async function policyView(tx: TenantScope, requiredFor: MfaPolicy) {
  const users = (await tx.from<UserRow>("users").select("id", "role")) as Array<Pick<UserRow, "id" | "role">>;
  const enrolled = new Set(
    ((await tx.from("user_mfa").whereNotNull("confirmed_at").select("user_id")) as Array<{ user_id: string }>).map(
      (r) => r.user_id,
    ),
  );
  const covered = users.filter((u) => policyCovers(requiredFor, u.role));
  return {
    requiredFor,
    coveredUsers: covered.length,
    coveredUsersWithoutMfa: covered.filter((u) => !enrolled.has(u.id)).length,
  };
}

export async function getMfaPolicy(scope: TenantScope) {
  const org = await scope.db<OrgRow>("orgs").where({ id: scope.orgId }).first();
  if (!org) throw new NotFoundError("ORG_NOT_FOUND", "no such org");
  return policyView(scope, org.mfa_required_for);
}

/**
 * Sets who must have MFA. Users it newly covers who have no factor lose their sessions at once and must enrol at
 * their next login (before anything else). The admin setting it must already have a factor when it covers them.
 * Returns the users whose sessions ended: the caller broadcasts their revocation.
 */
export async function updateMfaPolicy(
  scope: TenantScope,
  principal: Principal,
  requiredFor: MfaPolicy,
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    const org = await tx.db<OrgRow>("orgs").where({ id: tx.orgId }).forUpdate().first();
    if (!org) throw new NotFoundError("ORG_NOT_FOUND", "no such org");
    const actor = (await tx.from<UserRow>("users").where({ id: principal.userId }).first()) as UserRow | undefined;
    if (actor && policyCovers(requiredFor, actor.role) && !(await confirmedFactorOf(tx.db, actor.id))) {
      throw new ConflictError(
        "MFA_ENROLL_FIRST",
        "this policy covers your own account: turn MFA on for yourself first, so that you are not locked out",
      );
    }
    await tx.db("orgs").where({ id: tx.orgId }).update({ mfa_required_for: requiredFor });
    const users = (await tx.from<UserRow>("users").select("id", "role")) as Array<Pick<UserRow, "id" | "role">>;
    const enrolled = new Set(
      ((await tx.from("user_mfa").whereNotNull("confirmed_at").select("user_id")) as Array<{ user_id: string }>).map(
        (r) => r.user_id,
      ),
    );
    const mustEnrol = users
      .filter((u) => policyCovers(requiredFor, u.role) && !policyCovers(org.mfa_required_for, u.role))
      .filter((u) => !enrolled.has(u.id))
      .map((u) => u.id);
    if (mustEnrol.length > 0) {
      await tx
        .from("sessions")
        .whereIn("user_id", mustEnrol)
        .whereNull("revoked_at")
        .update({ revoked_at: tx.db.fn.now() });
    }
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "org.mfa_policy_update",
        targetType: "org",
        targetId: tx.orgId,
        data: { from: org.mfa_required_for, to: requiredFor, usersMustEnrol: mustEnrol.length },
      },
      request,
    );
    return { policy: await policyView(tx, requiredFor), revokedUserIds: mustEnrol };
  });
}

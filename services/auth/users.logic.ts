/** Users of an org: ORG_ADMIN creates them, changes their role and removes them; each user changes their password. */
import { isUniqueViolation, type Db } from "../_shared/db.js";
import { ConflictError, ForbiddenError, NotFoundError, UnprocessableError } from "../_shared/errors.js";
import type { Role } from "../_shared/permissions.js";
import { actorOf, recordAudit } from "../audit/index.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import { TenantScope } from "../_shared/tenant.js";
import { ACCOUNT_POLICY, accountKey, clearAccountFailures, reserveAttempt } from "./login-throttle.js";
import { assertPasswordPolicy, hashSecret, normaliseEmail, verifySecret } from "./passwords.js";
import { userView, type UserRow } from "./views.js";

export async function listUsers(scope: TenantScope) {
  const rows = (await scope.from<UserRow>("users").orderBy("email")) as UserRow[];
  const enrolled = new Set(
    ((await scope.from("user_mfa").whereNotNull("confirmed_at").select("user_id")) as Array<{ user_id: string }>).map(
      (r) => r.user_id,
    ),
  );
  return { items: rows.map((u) => ({ ...userView(u), mfaEnabled: enrolled.has(u.id) })) };
}

export async function createUser(
  scope: TenantScope,
  principal: Principal,
  input: { email: string; password: string; role: Role },
  request: RequestInfo,
) {
  const email = normaliseEmail(input.email);
  assertPasswordPolicy(input.password, email);
  const passwordHash = await hashSecret(input.password);
  return scope.transaction(async (tx) => {
    const existing = await tx.from("users").where({ email }).first("id");
    if (existing) throw new ConflictError("USER_EXISTS", `a user with email ${email} exists in this org`);
    const [user] = (await tx
      .insert("users", { email, password_hash: passwordHash, role: input.role })
      .returning("*")
      .catch((err: unknown) => {
        // The loser of a race between two creations of one email (both passed the check above).
        if (isUniqueViolation(err))
          throw new ConflictError("USER_EXISTS", `a user with email ${email} exists in this org`);
        throw err;
      })) as UserRow[];
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "user.create",
        targetType: "user",
        targetId: user!.id,
        data: { email, role: input.role },
      },
      request,
    );
    return userView(user!);
  });
}

/** Locks the org's ORG_ADMIN rows: two concurrent demotions serialise here and the second sees one admin left. */
async function lockedAdminIds(tx: TenantScope): Promise<string[]> {
  const rows = (await tx.from("users").where({ role: "ORG_ADMIN" }).forUpdate().select("id")) as Array<{ id: string }>;
  return rows.map((r) => r.id);
}

const lastAdmin = (what: string) =>
  new ConflictError("LAST_ORG_ADMIN", `${what}: it is the org's last ORG_ADMIN; make another user ORG_ADMIN first`);

async function findUser(tx: TenantScope, userId: string): Promise<UserRow> {
  const row = (await tx.from<UserRow>("users").where({ id: userId }).first()) as UserRow | undefined;
  if (!row) throw new NotFoundError("USER_NOT_FOUND", "user not found");
  return row;
}

/**
 * Changes a user's role. The caller must then broadcast CREDENTIALS_REVOKED_EVENT for the user: cached principals
 * carry the old role's permissions (their sessions and tokens stay valid, with the new role's permissions).
 */
export async function updateUserRole(
  scope: TenantScope,
  principal: Principal,
  userId: string,
  role: Role,
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    const admins = await lockedAdminIds(tx);
    const user = await findUser(tx, userId);
    if (user.role === role) return userView(user);
    if (user.role === "ORG_ADMIN" && admins.length <= 1) throw lastAdmin("the user cannot be demoted");
    const [row] = (await tx
      .from<UserRow>("users")
      .where({ id: userId })
      .update({ role })
      .returning("*")) as unknown as UserRow[];
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "user.role_change",
        targetType: "user",
        targetId: userId,
        data: { email: user.email, from: user.role, to: role },
      },
      request,
    );
    return userView(row!);
  });
}

/**
 * Removes a user with their sessions and API tokens (foreign keys ON DELETE CASCADE); their audit trail stays. The
 * caller must broadcast CREDENTIALS_REVOKED_EVENT so that no gateway keeps serving a cached credential.
 */
export async function deleteUser(scope: TenantScope, principal: Principal, userId: string, request: RequestInfo) {
  return scope.transaction(async (tx) => {
    const admins = await lockedAdminIds(tx);
    const user = await findUser(tx, userId);
    if (user.role === "ORG_ADMIN" && admins.length <= 1) throw lastAdmin("the user cannot be removed");
    const tokens = (await tx.from("api_tokens").where({ created_by: userId }).count("* as n")) as Array<{
      n: string | number;
    }>;
    await tx.from("users").where({ id: userId }).delete();
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "user.delete",
        targetType: "user",
        targetId: userId,
        data: { email: user.email, role: user.role, apiKeysDeleted: Number(tokens[0]?.n ?? 0) },
      },
      request,
    );
    return userView(user);
  });
}

/**
 * A user changes their own password: the current one is checked (argon2, throttled with the same account gate as
 * login, so it cannot be used to guess), the new one hashed, and every other session of the user revoked in the
 * same transaction. API tokens stay: they are credentials of their own, revoked on their own.
 */
export async function changeOwnPassword(
  db: Db,
  principal: Principal,
  input: { currentPassword: string; newPassword: string },
  request: RequestInfo,
) {
  if (principal.actorType !== "user" || principal.sessionId === null) {
    throw new ForbiddenError("SESSION_REQUIRED", "a password is changed from a login session, not with an API token");
  }
  const scope = new TenantScope(db, principal.orgId);
  const user = await findUser(scope, principal.userId);
  assertPasswordPolicy(input.newPassword, user.email);
  const gate = accountKey(user.org_id, user.email);
  await reserveAttempt(db, gate, ACCOUNT_POLICY);
  if (!(await verifySecret(user.password_hash, input.currentPassword))) {
    await recordAudit(
      scope,
      { ...actorOf(principal), action: "user.password_change_failed", targetType: "user", targetId: user.id },
      request,
    );
    throw new ForbiddenError("CURRENT_PASSWORD_INCORRECT", "the current password is incorrect");
  }
  await clearAccountFailures(db, user.org_id, user.email);
  if (input.newPassword === input.currentPassword) {
    throw new UnprocessableError("PASSWORD_UNCHANGED", "the new password must differ from the current one");
  }
  const passwordHash = await hashSecret(input.newPassword);
  const currentFamily = principal.sessionId;
  return scope.transaction(async (tx) => {
    await tx.from("users").where({ id: user.id }).update({ password_hash: passwordHash });
    const revoked = (await tx
      .from("sessions")
      .where({ user_id: user.id })
      .whereNot({ family_id: currentFamily })
      .whereNull("revoked_at")
      .update({ revoked_at: tx.db.fn.now() })
      .returning("family_id")) as Array<{ family_id: string }>;
    const families = [...new Set(revoked.map((r) => r.family_id))];
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "user.password_change",
        targetType: "user",
        targetId: user.id,
        data: { sessionsRevoked: families.length },
      },
      request,
    );
    return { sessionsRevoked: families.length };
  });
}

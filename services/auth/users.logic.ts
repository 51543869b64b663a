/** Users of an org: ORG_ADMIN creates them with a role. */
import { ConflictError } from "../_shared/errors.js";
import type { Role } from "../_shared/permissions.js";
import { actorOf, recordAudit } from "../audit/index.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { TenantScope } from "../_shared/tenant.js";
import { assertPasswordPolicy, hashSecret, normaliseEmail } from "./passwords.js";
import { userView, type UserRow } from "./views.js";

export async function listUsers(scope: TenantScope) {
  const rows = (await scope.from<UserRow>("users").orderBy("email")) as UserRow[];
  return { items: rows.map(userView) };
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
      .returning("*")) as UserRow[];
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

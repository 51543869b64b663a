/** Orgs: the first-run bootstrap (or a system bootstrap credential) creates an org with its first ORG_ADMIN. */
import { timingSafeEqual, createHash } from "node:crypto";
import type { Db } from "../_shared/db.js";
import { ConflictError, ForbiddenError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import { TenantScope } from "../_shared/tenant.js";
import { recordAudit } from "../audit/index.js";
import { BOOTSTRAP_POLICY, bootstrapKey, releaseAttempt, reserveAttempt } from "./login-throttle.js";
import { assertPasswordPolicy, hashSecret, normaliseEmail } from "./passwords.js";
import { orgView, userView, type OrgRow, type UserRow } from "./views.js";
import type { OpBody } from "../_shared/rest.js";

/** Serialises concurrent first-run attempts so exactly one can win. */
const ORG_BOOTSTRAP_LOCK = 0x5354_4b59;

export function bootstrapTokenMatches(expected: string | undefined, presented: string | undefined): boolean {
  if (!expected || !presented) return false;
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(presented).digest();
  return timingSafeEqual(a, b);
}

export type CreateOrgInput = OpBody<"createOrg">;

const orgCreationForbidden = () =>
  new ForbiddenError(
    "ORG_CREATION_FORBIDDEN",
    "orgs are created by the first-run bootstrap or with the system bootstrap credential",
  );

/**
 * Who may create an org: anyone on an empty installation, afterwards only the holder of the bootstrap credential.
 * A wrong credential counts against the caller's address (the same gate as logins), so it cannot be guessed at speed.
 */
export async function authorizeOrgCreation(
  db: Db,
  expected: string | undefined,
  presented: string | undefined,
  request: RequestInfo,
): Promise<{ bootstrapToken: boolean }> {
  if (presented === undefined) return { bootstrapToken: false };
  const key = bootstrapKey(request.ip ?? "unknown");
  await reserveAttempt(db, key, BOOTSTRAP_POLICY);
  if (!bootstrapTokenMatches(expected, presented)) throw orgCreationForbidden();
  await releaseAttempt(db, key);
  return { bootstrapToken: true };
}

export async function createOrg(db: Db, input: CreateOrgInput, how: { bootstrapToken: boolean }, request: RequestInfo) {
  // Refused before any password work: an unauthorised caller must not be able to make us run argon2.
  if (!how.bootstrapToken && (await db("orgs").first("id"))) throw orgCreationForbidden();
  const email = normaliseEmail(input.admin.email);
  assertPasswordPolicy(input.admin.password, email);
  const passwordHash = await hashSecret(input.admin.password);
  return db.transaction(async (trx) => {
    await trx.raw("select pg_advisory_xact_lock(?)", [ORG_BOOTSTRAP_LOCK]);
    if (!how.bootstrapToken) {
      const existing = await trx("orgs").first("id");
      if (existing) throw orgCreationForbidden();
    }
    const duplicate = await trx("orgs").whereRaw("lower(name) = lower(?)", [input.name.trim()]).first("id");
    if (duplicate) throw new ConflictError("ORG_EXISTS", `an org named "${input.name.trim()}" exists`);
    const [org] = await trx<OrgRow>("orgs").insert({ name: input.name.trim() }).returning("*");
    const scope = new TenantScope(trx, org!.id);
    const [admin] = (await scope
      .insert("users", { email, password_hash: passwordHash, role: "ORG_ADMIN" })
      .returning("*")) as UserRow[];
    await recordAudit(
      scope,
      {
        actorType: "system",
        actorId: how.bootstrapToken ? "bootstrap-credential" : "first-run",
        action: "org.create",
        targetType: "org",
        targetId: org!.id,
        data: { name: org!.name, adminEmail: email },
      },
      request,
    );
    return { org: orgView(org!), admin: userView(admin!) };
  });
}

/** The caller's org: accounts elsewhere under the same email are not the caller's to list (emails are unverified). */
export async function listOrgs(db: Db, principal: Principal) {
  const rows = await db<OrgRow>("orgs").where({ id: principal.orgId });
  return { items: rows.map(orgView) };
}

export async function orgCount(db: Db): Promise<number> {
  const [row] = await db("orgs").count<{ count: string }[]>("id as count");
  return Number(row?.count ?? 0);
}

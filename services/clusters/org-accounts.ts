/**
 * The control plane's side of the org accounts (nats/org-accounts.ts): which orgs have one (`nats_org_accounts`),
 * what each account JWT must say (the org's clusters → imports, the org's revoked keys, its limits), and pushing
 * it to the NATS full resolver through the system account. An org's account is created lazily, when the org gets
 * its first agent, integration or live credential, and pushed again whenever its clusters or revocations change;
 * every account is pushed at start and after a reconnect (a server with a fresh resolver directory knows none).
 */
import type { Knex } from "knex";
import type { NatsConnection } from "nats";
import type { Db } from "../_shared/db.js";
import type { NatsIdentity } from "../../nats/identity.js";
import {
  encodeOrgAccount,
  orgAccountKeys,
  orgAccountLimits,
  pushAccountJwt,
  type OrgAccountLimits,
  type OrgAccountState,
} from "../../nats/org-accounts.js";

interface OrgAccountRow {
  org_id: string;
  account_public_key: string;
  limits_json: Partial<OrgAccountLimits>;
}

/**
 * Records the org's account if it has none yet. True when it has never been pushed (created now, or its first
 * push failed): the caller pushes it before handing out a credential of it.
 */
export async function ensureOrgAccount(
  db: Db | Knex.Transaction,
  identity: Pick<NatsIdentity, "operatorSeed">,
  orgId: string,
): Promise<boolean> {
  await db("nats_org_accounts")
    .insert({ org_id: orgId, account_public_key: orgAccountKeys(identity, orgId).accountPublicKey })
    .onConflict("org_id")
    .ignore();
  const row = (await db("nats_org_accounts").where({ org_id: orgId }).first("pushed_at")) as
    { pushed_at: Date | null } | undefined;
  return !row?.pushed_at;
}

/** The org's revoked user keys that may still hold an unexpired JWT, with the time each was revoked (seconds). */
export async function orgRevocations(db: Db | Knex.Transaction, orgId: string): Promise<Record<string, number>> {
  const rows = await db("agent_credentials")
    .where({ org_id: orgId })
    .whereNotNull("revoked_at")
    .where("expires_at", ">", db.fn.now())
    .select<{ public_nkey: string; revoked_at: Date }[]>("public_nkey", "revoked_at")
    .unionAll((q) =>
      q
        .from("revoked_agent_keys")
        .where({ org_id: orgId })
        .where("expires_at", ">", db.fn.now())
        .select("public_nkey", "revoked_at"),
    )
    .unionAll((q) =>
      q
        .from("integration_credentials")
        .where({ org_id: orgId })
        .whereNotNull("revoked_at")
        .where((w) => w.whereNull("expires_at").orWhere("expires_at", ">", db.fn.now()))
        .select("public_nkey", "revoked_at"),
    )
    .unionAll((q) =>
      q
        .from("live_credentials")
        .where({ org_id: orgId })
        .whereNotNull("revoked_at")
        .where("expires_at", ">", db.fn.now())
        .select("public_nkey", "revoked_at"),
    );
  const result: Record<string, number> = {};
  for (const r of rows)
    result[r.public_nkey] = Math.max(result[r.public_nkey] ?? 0, Math.ceil(r.revoked_at.getTime() / 1000));
  return result;
}

/** Everything the org's account JWT says, read from the database. */
export async function orgAccountState(db: Db | Knex.Transaction, orgId: string): Promise<OrgAccountState> {
  const row = (await db<OrgAccountRow>("nats_org_accounts").where({ org_id: orgId }).first()) as
    OrgAccountRow | undefined;
  // Revoked clusters keep no path to the control plane: their agent is refused anyway, and so are its subjects.
  const clusters = await db("clusters")
    .where({ org_id: orgId })
    .whereNot({ status: "revoked" })
    .select<{ id: string }[]>("id");
  return {
    orgId,
    clusterIds: clusters.map((c) => c.id),
    revocations: await orgRevocations(db, orgId),
    limits: orgAccountLimits(row?.limits_json ?? {}),
  };
}

/** Encodes the org's account from the database and pushes it; records when. */
export async function pushOrgAccount(
  system: NatsConnection,
  db: Db,
  identity: Pick<NatsIdentity, "operatorSeed" | "appAccountSeed">,
  orgId: string,
): Promise<void> {
  const jwt = await encodeOrgAccount(identity, await orgAccountState(db, orgId));
  await pushAccountJwt(system, jwt);
  await db("nats_org_accounts").where({ org_id: orgId }).update({ pushed_at: db.fn.now() });
}

/** Every org that has an account. */
export async function orgAccountIds(db: Db): Promise<string[]> {
  const rows = await db("nats_org_accounts").orderBy("org_id").select<{ org_id: string }[]>("org_id");
  return rows.map((r) => r.org_id);
}

/** The public keys of every org account the server knows: where the system account lists leaf connections. */
export async function orgAccountPublicKeys(db: Db): Promise<string[]> {
  const rows = await db("nats_org_accounts")
    .whereNotNull("pushed_at")
    .select<{ account_public_key: string }[]>("account_public_key");
  return rows.map((r) => r.account_public_key);
}

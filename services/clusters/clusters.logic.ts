/** Clusters, their one-time registration tokens, agent registration, credential renewal and revocation. */
import { createHash, randomBytes } from "node:crypto";
import type { Knex } from "knex";
import type { Db } from "../_shared/db.js";
import { ConflictError, NotFoundError, UnauthorizedError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import type { NatsIdentity } from "../../nats/identity.js";
import { commandSigningPublicKey } from "../../nats/protocol/envelope.js";
import { agentInstall } from "./agent-install.js";
import { mintAgentCredential } from "./nats-admin.js";
import { clusterView, nodeView, type ClusterNodeRow, type ClusterRow } from "./views.js";
import type { OpBody } from "../_shared/rest.js";

export interface ClustersSettings {
  publicUrl: string;
  agentImage: string;
  agentNatsUrls: string[];
  /** PEM of the NATS server's CA, handed to registering agents to pin (NATS_TLS_CA_FILE). */
  agentNatsCa?: string;
  registrationTokenTtlSeconds: number;
  agentCredentialTtlSeconds: number;
  offlineAfterSeconds: number;
}

/** Postgres exclusion_violation: the key already belongs to another cluster (agent_credentials constraint). */
const EXCLUSION_VIOLATION = "23P01";
const keyInUse = () =>
  new ConflictError(
    "AGENT_KEY_IN_USE",
    "this public key is registered to another cluster; every agent needs a key of its own (register with --force to make a new one)",
  );
const rethrowKeyInUse = (err: unknown): never => {
  if ((err as { code?: unknown }).code === EXCLUSION_VIOLATION) throw keyInUse();
  throw err;
};

/**
 * Refuses a key that another cluster holds (live, revoked or expired alike: a key stays with its first cluster),
 * or that a deleted cluster's agent held and that is still revoked. Installation-wide on purpose: keys are unique
 * across tenants.
 */
async function assertKeyFreeForCluster(trx: Db | Knex.Transaction, publicKey: string, clusterId: string) {
  const other = await trx("agent_credentials")
    .where({ public_nkey: publicKey })
    .whereNot({ cluster_id: clusterId })
    .first("id");
  const revoked = await trx("revoked_agent_keys").where({ public_nkey: publicKey }).first("public_nkey");
  if (other || revoked) throw keyInUse();
}

export const hashRegistrationToken = (token: string): string => createHash("sha256").update(token).digest("hex");
const newRegistrationToken = (): string => `syr_${randomBytes(32).toString("base64url")}`;

/** Selects every column of clusters plus its number of unacknowledged security warnings and its nodes not ready. */
const withOpenWarnings = (scope: TenantScope) =>
  scope
    .from<ClusterRow>("clusters")
    .select(
      "clusters.*",
      scope.db.raw(
        "(SELECT count(*)::int FROM cluster_security_warnings w WHERE w.cluster_id = clusters.id AND w.acknowledged_at IS NULL) AS open_security_warnings",
      ),
      scope.db.raw(
        "(SELECT coalesce(array_agg(n.hostname ORDER BY n.hostname), '{}') FROM cluster_nodes n WHERE n.cluster_id = clusters.id AND n.status <> 'ready') AS unhealthy_nodes",
      ),
    );

export async function findCluster(scope: TenantScope, clusterId: string, lock = false): Promise<ClusterRow> {
  const q = withOpenWarnings(scope).where({ id: clusterId });
  if (lock) q.forUpdate();
  const row = (await q.first()) as ClusterRow | undefined;
  if (!row) throw new NotFoundError("CLUSTER_NOT_FOUND", "no such cluster");
  return row;
}

async function issueRegistrationToken(
  scope: TenantScope,
  clusterId: string,
  principal: Principal,
  settings: ClustersSettings,
) {
  const token = newRegistrationToken();
  const expiresAt = new Date(Date.now() + settings.registrationTokenTtlSeconds * 1000);
  // A fresh token replaces any unused one: only the newest can register.
  await scope.from("cluster_registration_tokens").where({ cluster_id: clusterId }).whereNull("used_at").delete();
  await scope.insert("cluster_registration_tokens", {
    cluster_id: clusterId,
    token_hash: hashRegistrationToken(token),
    expires_at: expiresAt,
    created_by: principal.userId,
  });
  return {
    registrationToken: token,
    registrationTokenExpiresAt: expiresAt.toISOString(),
    agentInstall: agentInstall(settings.publicUrl, token, settings.agentImage),
  };
}

/** SQLSTATE of a unique-constraint violation. */
const UNIQUE_VIOLATION = "23505";

export async function createCluster(
  scope: TenantScope,
  principal: Principal,
  input: { name: string },
  settings: ClustersSettings,
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    const existing = await tx.from("clusters").where({ name: input.name }).first("id");
    if (existing) throw new ConflictError("CLUSTER_EXISTS", `a cluster named "${input.name}" exists`);
    const [row] = (await tx
      .insert("clusters", { name: input.name })
      .returning("*")
      .catch((err: unknown) => {
        // The loser of a race between two creations of one name (both passed the check above).
        if ((err as { code?: unknown }).code === UNIQUE_VIOLATION)
          throw new ConflictError("CLUSTER_EXISTS", `a cluster named "${input.name}" exists`);
        throw err;
      })) as ClusterRow[];
    const registration = await issueRegistrationToken(tx, row!.id, principal, settings);
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "cluster.create",
        targetType: "cluster",
        targetId: row!.id,
        data: { name: input.name },
      },
      request,
    );
    return { cluster: clusterView(row!, settings.offlineAfterSeconds), ...registration };
  });
}

export async function issueNewRegistrationToken(
  scope: TenantScope,
  principal: Principal,
  clusterId: string,
  settings: ClustersSettings,
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    await findCluster(tx, clusterId, true);
    const registration = await issueRegistrationToken(tx, clusterId, principal, settings);
    await recordAudit(
      tx,
      { ...actorOf(principal), action: "cluster.registration_token", targetType: "cluster", targetId: clusterId },
      request,
    );
    return registration;
  });
}

export async function listClusters(scope: TenantScope, settings: ClustersSettings) {
  const rows = (await withOpenWarnings(scope).orderBy("name")) as ClusterRow[];
  return { items: rows.map((r) => clusterView(r, settings.offlineAfterSeconds)) };
}

export async function getCluster(scope: TenantScope, clusterId: string, settings: ClustersSettings) {
  return clusterView(await findCluster(scope, clusterId), settings.offlineAfterSeconds);
}

export async function listNodes(scope: TenantScope, clusterId: string) {
  await findCluster(scope, clusterId);
  const rows = (await scope
    .from<ClusterNodeRow>("cluster_nodes")
    .where({ cluster_id: clusterId })
    .orderBy("hostname")) as ClusterNodeRow[];
  return { items: rows.map(nodeView) };
}

export type RegisterInput = OpBody<"registerAgent">;

/**
 * Spends a registration token (in the same transaction that records the new credential) and mints the agent's
 * NATS user JWT for the public key it sent. Returns the public keys of credentials it replaced (to revoke).
 */
export async function registerAgent(
  db: Db,
  identity: NatsIdentity,
  input: RegisterInput,
  settings: ClustersSettings,
  request: RequestInfo,
  opts: { beforeMint?: (orgId: string) => Promise<void> } = {},
) {
  return db.transaction(async (trx) => {
    // Pre-authentication lookup by the hash of a 256-bit secret; the row then names the tenant.
    const token = await trx("cluster_registration_tokens")
      .where({ token_hash: hashRegistrationToken(input.token) })
      .forUpdate()
      .first<{ id: string; org_id: string; cluster_id: string; expires_at: Date; used_at: Date | null } | undefined>();
    if (!token || token.used_at || token.expires_at <= new Date()) {
      throw new UnauthorizedError(
        "REGISTRATION_TOKEN_INVALID",
        "the registration token is invalid, expired or already used",
      );
    }
    const scope = new TenantScope(trx, token.org_id);
    await scope.from("cluster_registration_tokens").where({ id: token.id }).update({ used_at: trx.fn.now() });
    const cluster = await findCluster(scope, token.cluster_id, true);
    // Before anything changes: a refusal rolls back, so the token stays unused.
    await assertKeyFreeForCluster(trx, input.publicKey, cluster.id);
    const replaced = (await scope
      .from("agent_credentials")
      .where({ cluster_id: cluster.id })
      .whereNull("revoked_at")
      .update({ revoked_at: trx.fn.now() })
      .returning("public_nkey")) as Array<{ public_nkey: string }>;
    const orgAccount = input.natsAccount === "org";
    // The org's account must be on the server, with this cluster's imports, before a JWT of it is handed out; a
    // failed push rolls the registration back (the token stays unused).
    if (orgAccount) await opts.beforeMint?.(cluster.org_id);
    const credential = await mintAgentCredential(
      identity,
      cluster.id,
      input.publicKey,
      settings.agentCredentialTtlSeconds,
      orgAccount ? cluster.org_id : null,
    );
    await scope
      .insert("agent_credentials", {
        cluster_id: cluster.id,
        public_nkey: input.publicKey,
        seal_public_key: input.sealPublicKey ?? null,
        jwt_id: credential.jwtId,
        expires_at: credential.expiresAt,
      })
      .catch(rethrowKeyInUse);
    await scope
      .from("clusters")
      .where({ id: cluster.id })
      .update({
        agent_id: input.publicKey,
        status: "offline",
        facts_json: JSON.stringify({ ...input.docker, hostname: input.hostname, agentVersion: input.agentVersion }),
      });
    await recordAudit(
      scope,
      {
        actorType: "agent",
        actorId: input.publicKey,
        action: "cluster.agent_registered",
        targetType: "cluster",
        targetId: cluster.id,
        data: {
          hostname: input.hostname,
          agentVersion: input.agentVersion,
          replacedAgents: replaced.length,
          sealsSecrets: input.sealPublicKey !== undefined,
        },
      },
      request,
    );
    return {
      response: {
        clusterId: cluster.id,
        orgId: cluster.org_id,
        jwt: credential.jwt,
        natsUrls: settings.agentNatsUrls,
        ...(settings.agentNatsCa !== undefined ? { natsCa: settings.agentNatsCa } : {}),
        commandSigningPublicKey: commandSigningPublicKey(identity.commandSigningSeed),
        expiresAt: credential.expiresAt.getTime(),
      },
      replacedKeys: replaced.map((r) => r.public_nkey).filter((k) => k !== input.publicKey),
      /** The org whose account the credential belongs to (the caller pushes it first), or null: the shared one. */
      orgAccount: orgAccount ? cluster.org_id : null,
    };
  });
}

/** Revokes every credential of the cluster; the caller then pushes the revocation to NATS. */
export async function revokeCluster(
  scope: TenantScope,
  principal: Principal,
  clusterId: string,
  settings: ClustersSettings,
  request: RequestInfo,
  opts: { delete: boolean },
) {
  return scope.transaction(async (tx) => {
    const cluster = await findCluster(tx, clusterId, true);
    const revoked = (await tx
      .from("agent_credentials")
      .where({ cluster_id: clusterId })
      .whereNull("revoked_at")
      .update({ revoked_at: new Date() })
      .returning("public_nkey")) as Array<{ public_nkey: string }>;
    await tx.from("cluster_registration_tokens").where({ cluster_id: clusterId }).whereNull("used_at").delete();
    let view;
    if (opts.delete) {
      const inUse = await tx.from("environments").where({ cluster_id: clusterId }).first("id");
      if (inUse)
        throw new ConflictError(
          "CLUSTER_IN_USE",
          "environments still deploy to this cluster; move or delete them first",
        );
      await keepRevokedKeys(tx, clusterId);
      await tx.from("clusters").where({ id: clusterId }).delete();
      view = clusterView({ ...cluster, status: "revoked" }, settings.offlineAfterSeconds);
    } else {
      const [row] = (await tx
        .from<ClusterRow>("clusters")
        .where({ id: clusterId })
        .update({ status: "revoked", agent_id: null })
        .returning("*")) as ClusterRow[];
      view = clusterView(
        { ...row!, open_security_warnings: cluster.open_security_warnings },
        settings.offlineAfterSeconds,
      );
    }
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: opts.delete ? "cluster.delete" : "cluster.revoke",
        targetType: "cluster",
        targetId: clusterId,
        data: { name: cluster.name, revokedCredentials: revoked.length },
      },
      request,
    );
    return { cluster: view, revokedKeys: revoked.map((r) => r.public_nkey) };
  });
}

/**
 * Copies the cluster's unexpired keys into `revoked_agent_keys` before the cluster (and, by cascade, its
 * credential rows) is deleted, so they stay in the revocation list until their JWTs expire.
 */
async function keepRevokedKeys(tx: TenantScope, clusterId: string): Promise<void> {
  const rows = (await tx
    .from("agent_credentials")
    .where({ cluster_id: clusterId })
    .where("expires_at", ">", new Date())
    .groupBy("public_nkey")
    .select("public_nkey")
    .max({ revoked_at: "revoked_at" })
    .max({ expires_at: "expires_at" })) as Array<{ public_nkey: string; revoked_at: Date | null; expires_at: Date }>;
  if (rows.length === 0) return;
  // Installation-wide table: the shared account's revocation list is installation-wide; the org's account lists the
  // keys of its own org.
  await tx
    .db("revoked_agent_keys")
    .insert(
      rows.map((r) => ({
        public_nkey: r.public_nkey,
        org_id: tx.orgId,
        revoked_at: r.revoked_at ?? new Date(),
        expires_at: r.expires_at,
      })),
    )
    .onConflict("public_nkey")
    .merge({
      revoked_at: tx.db.raw("greatest(revoked_agent_keys.revoked_at, excluded.revoked_at)"),
      expires_at: tx.db.raw("greatest(revoked_agent_keys.expires_at, excluded.expires_at)"),
    });
}

/**
 * Every revoked agent key and integration credential key with the time it was revoked: the complete revocation list
 * of the account.
 */
export async function accountRevocations(db: Db): Promise<Record<string, number>> {
  // Installation-wide: the account JWT carries every org's revoked agents, deleted clusters' included. Credentials
  // that expired long ago no longer need listing, since the server already refuses an expired JWT.
  const rows = await db("agent_credentials")
    .whereNotNull("revoked_at")
    .where("expires_at", ">", db.fn.now())
    .select<{ public_nkey: string; revoked_at: Date }[]>("public_nkey", "revoked_at")
    .unionAll((q) =>
      q.from("revoked_agent_keys").where("expires_at", ">", db.fn.now()).select("public_nkey", "revoked_at"),
    )
    // Integration credentials share the account: their revocations travel in the same list.
    .unionAll((q) =>
      q
        .from("integration_credentials")
        .whereNotNull("revoked_at")
        .where((w) => w.whereNull("expires_at").orWhere("expires_at", ">", db.fn.now()))
        .select("public_nkey", "revoked_at"),
    )
    // So do browsers' live credentials, revoked when their session, user or token ends.
    .unionAll((q) =>
      q
        .from("live_credentials")
        .whereNotNull("revoked_at")
        .where("expires_at", ">", db.fn.now())
        .select("public_nkey", "revoked_at"),
    );
  const result: Record<string, number> = {};
  for (const r of rows)
    result[r.public_nkey] = Math.max(result[r.public_nkey] ?? 0, Math.ceil(r.revoked_at.getTime() / 1000));
  return result;
}

/** Mints a fresh JWT for the registered key of the cluster, if that credential is still live. */
export async function renewAgentCredential(
  db: Db,
  identity: NatsIdentity,
  clusterId: string,
  publicKey: string,
  ttlSeconds: number,
  opts: { orgAccount?: boolean; beforeMint?: (orgId: string) => Promise<void> } = {},
) {
  return db.transaction(async (trx) => {
    const current = await trx("agent_credentials")
      .where({ cluster_id: clusterId, public_nkey: publicKey })
      .whereNull("revoked_at")
      .where("expires_at", ">", trx.fn.now())
      .orderBy("issued_at", "desc")
      .first<{ org_id: string; seal_public_key: string | null } | undefined>("org_id", "seal_public_key");
    if (!current)
      throw new UnauthorizedError(
        "CREDENTIAL_REVOKED",
        "this agent's credentials are revoked or expired; register again",
      );
    await assertKeyFreeForCluster(trx, publicKey, clusterId);
    // The org's account must be on the server (with this cluster's imports) before a JWT of it is handed out.
    if (opts.orgAccount) await opts.beforeMint?.(current.org_id);
    const credential = await mintAgentCredential(
      identity,
      clusterId,
      publicKey,
      ttlSeconds,
      opts.orgAccount ? current.org_id : null,
    );
    const scope = new TenantScope(trx, current.org_id);
    // The JWT id is a hash of the claims: a renewal within the same second yields the very same JWT.
    await scope
      .insert("agent_credentials", {
        cluster_id: clusterId,
        public_nkey: publicKey,
        // Renewal keeps the seal key of the registration; only a new registration rotates it.
        seal_public_key: current.seal_public_key,
        jwt_id: credential.jwtId,
        expires_at: credential.expiresAt,
      })
      .onConflict("jwt_id")
      .ignore()
      .catch(rethrowKeyInUse);
    await recordAudit(
      scope,
      {
        actorType: "agent",
        actorId: publicKey,
        action: "cluster.agent_credentials_renewed",
        targetType: "cluster",
        targetId: clusterId,
      },
      { ip: null, userAgent: null },
    );
    return credential;
  });
}

/**
 * The X25519 key the cluster's current agent registered for sealing (from its newest live credential), or null:
 * no live agent, or one registered before sealing. Installation-wide by cluster id (the deploy worker's lookup).
 */
export async function agentSealPublicKey(db: Db | Knex.Transaction, clusterId: string): Promise<string | null> {
  const row = await db("agent_credentials as a")
    .join("clusters as c", function () {
      this.on("c.id", "a.cluster_id").andOn("c.agent_id", "a.public_nkey");
    })
    .where("a.cluster_id", clusterId)
    .whereNull("a.revoked_at")
    .orderBy("a.issued_at", "desc")
    .first<{ seal_public_key: string | null } | undefined>("a.seal_public_key");
  return row?.seal_public_key ?? null;
}

/** The registered key of a cluster (for verifying renewal signatures). Installation-wide lookup by cluster id. */
export async function registeredAgentKey(db: Db, clusterId: string): Promise<string | null> {
  const row = await db<ClusterRow>("clusters").where({ id: clusterId }).first("agent_id");
  return row?.agent_id ?? null;
}

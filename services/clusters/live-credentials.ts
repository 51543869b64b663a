/**
 * Live credentials: a short-lived NATS user for one browser session's live updates (nats.ws through the gateway's
 * `/v1/live`). The browser makes the key pair and sends only its public key; the JWT lets it subscribe to the
 * catalogue topics its user may read (the same permission as the REST reads of that data), publish nothing, and
 * connect only over WebSocket. It expires on its own, and the browser renews it through this route while its
 * session lasts. Its public key is kept with the session, user or API token it belongs to (table
 * `live_credentials`), so ending that credential revokes the key on the NATS server too, closing the connection.
 * The user belongs to the org's own NATS account, where only the org's integration subjects arrive.
 */
import { fromPublic } from "nats-jwt";
import { ConflictError, UnprocessableError } from "../_shared/errors.js";
import type { Permission } from "../_shared/permissions.js";
import type { Principal } from "../_shared/principal.js";
import type { OpBody } from "../_shared/rest.js";
import type { CredentialsRevoked } from "../_shared/bus-events.js";
import type { Db } from "../_shared/db.js";
import type { TenantScope } from "../_shared/tenant.js";
import { mintUserJwt } from "../../nats/credentials.js";
import type { NatsIdentity } from "../../nats/identity.js";
import { orgUserIssuer } from "../../nats/org-accounts.js";
import {
  INTEGRATION_TOPICS,
  integrationSubjects,
  LIVE_CREDENTIAL_TTL_SECONDS,
  LIVE_PATH,
  liveUserJwtOptions,
  type IntegrationTopic,
} from "../../nats/protocol/integration-subjects.js";

export type CreateLiveCredentialInput = OpBody<"createLiveCredential">;

/** Which REST read a topic's events correspond to: a user sees live what they could read by polling. */
export const LIVE_TOPIC_PERMISSION: Record<IntegrationTopic, Permission> = {
  deployments: "deployments:read",
  releases: "stacks:read",
  environments: "stacks:read",
  clusters: "clusters:read",
  audit: "audit:read",
};

function assertUserPublicKey(publicKey: string): void {
  let valid = publicKey.startsWith("U");
  try {
    if (valid) fromPublic(publicKey);
  } catch {
    valid = false;
  }
  if (!valid) {
    throw new UnprocessableError("INVALID_PUBLIC_KEY", "publicKey must be a NATS user public key (U…)", {
      path: "publicKey",
    });
  }
}

interface LiveCredentialRow {
  public_nkey: string;
  org_id: string;
  user_id: string;
  revoked_at: Date | null;
}

export async function createLiveCredential(
  scope: TenantScope,
  principal: Principal,
  input: CreateLiveCredentialInput,
  identity: NatsIdentity,
  live: { available: boolean },
) {
  if (!live.available) {
    throw new ConflictError(
      "LIVE_UPDATES_UNAVAILABLE",
      "live updates are not configured on this installation (NATS_WS_URL is unset): the UI polls instead",
    );
  }
  assertUserPublicKey(input.publicKey);
  const topics = INTEGRATION_TOPICS.filter((topic) => principal.permissions.includes(LIVE_TOPIC_PERMISSION[topic]));
  const expiresAt = Math.floor(Date.now() / 1000) + LIVE_CREDENTIAL_TTL_SECONDS;
  const jwt = await mintUserJwt({
    ...liveUserJwtOptions(principal.orgId, principal.sessionId ?? principal.actorId, topics),
    userPublicKey: input.publicKey,
    // A user of the org's own account (nats/org-accounts.ts): the caller made sure the server knows it.
    ...orgUserIssuer(identity, principal.orgId),
    expiresAt,
  });
  await scope.transaction(async (tx) => {
    const existing = (await tx
      .from<LiveCredentialRow>("live_credentials")
      .where({ public_nkey: input.publicKey })
      .forUpdate()
      .first()) as LiveCredentialRow | undefined;
    // A revoked key stays revoked: a JWT minted after the revocation time would pass the server's check.
    if (existing && (existing.revoked_at || existing.user_id !== principal.userId)) {
      throw new ConflictError("LIVE_KEY_NOT_RENEWABLE", "this public key cannot be renewed: make a new key pair", {
        path: "publicKey",
      });
    }
    const expires = new Date(expiresAt * 1000);
    if (existing) {
      await tx.from("live_credentials").where({ public_nkey: input.publicKey }).update({ expires_at: expires });
    } else {
      await tx.insert("live_credentials", {
        public_nkey: input.publicKey,
        user_id: principal.userId,
        session_id: principal.sessionId,
        token_id: principal.tokenId,
        expires_at: expires,
      });
    }
  });
  return {
    jwt,
    expiresAt: new Date(expiresAt * 1000).toISOString(),
    subjects: topics.map((topic) => integrationSubjects.topicWildcard(principal.orgId, topic)),
    path: LIVE_PATH,
  };
}

/**
 * Marks the unexpired live credentials of an ended session, removed user or revoked token revoked, and returns the
 * orgs they belonged to: the caller pushes those orgs' accounts (a credential that never had a live key matches
 * nothing, and no org is returned).
 */
export async function revokeLiveCredentials(db: Db, revoked: CredentialsRevoked): Promise<string[]> {
  const userIds = [...(revoked.userIds ?? []), ...(revoked.userId ? [revoked.userId] : [])];
  if (!revoked.sessionId && !revoked.tokenId && userIds.length === 0) return [];
  const rows = (await db("live_credentials")
    .where((q) => {
      if (revoked.sessionId) q.orWhere("session_id", revoked.sessionId);
      if (revoked.tokenId) q.orWhere("token_id", revoked.tokenId);
      if (userIds.length > 0) q.orWhereIn("user_id", userIds);
    })
    .whereNull("revoked_at")
    .where("expires_at", ">", db.fn.now())
    .update({ revoked_at: db.fn.now() })
    .returning("org_id")) as Array<{ org_id: string }>;
  return [...new Set(rows.map((r) => r.org_id))];
}

/** Expired rows are of no use to anyone (the server refuses an expired JWT): drop them after an hour. */
export async function pruneLiveCredentials(db: Db): Promise<number> {
  return db("live_credentials").where("expires_at", "<", db.raw("now() - interval '1 hour'")).delete();
}

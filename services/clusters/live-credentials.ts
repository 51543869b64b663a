/**
 * Live credentials: a short-lived NATS user for one browser session's live updates (nats.ws through the gateway's
 * `/v1/live`). The browser makes the key pair and sends only its public key; the JWT lets it subscribe to the
 * catalogue topics its user may read (the same permission as the REST reads of that data), publish nothing, and
 * connect only over WebSocket. Nothing is stored: it expires on its own, and the browser renews it through this
 * route while its session lasts (a logged-out session cannot renew, so its live access ends within the TTL).
 */
import { fromPublic } from "nats-jwt";
import { ConflictError, UnprocessableError } from "../_shared/errors.js";
import type { Permission } from "../_shared/permissions.js";
import type { Principal } from "../_shared/principal.js";
import type { OpBody } from "../_shared/rest.js";
import { mintUserJwt } from "../../nats/credentials.js";
import { publicKeyOfSeed, type NatsIdentity } from "../../nats/identity.js";
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

export async function createLiveCredential(
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
    appAccountPublicKey: publicKeyOfSeed(identity.appAccountSeed),
    appSigningSeed: identity.appSigningSeed,
    expiresAt,
  });
  return {
    jwt,
    expiresAt: new Date(expiresAt * 1000).toISOString(),
    subjects: topics.map((topic) => integrationSubjects.topicWildcard(principal.orgId, topic)),
    path: LIVE_PATH,
  };
}

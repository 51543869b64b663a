/**
 * The control plane's NATS authority: minting per-cluster agent credentials and pushing account-JWT revocations
 * to the server, which then refuses the revoked keys and drops their live connections.
 */
import { readFile } from "node:fs/promises";
import type { ClaimsData } from "nats-jwt";
import type { NatsConnection } from "nats";
import { encodeAppAccount, publicKeyOfSeed, type NatsIdentity } from "../../nats/identity.js";
import { mintUserJwt } from "../../nats/credentials.js";
import { orgUserIssuer } from "../../nats/org-accounts.js";
import { agentUserJwtOptions } from "../../nats/protocol/subjects.js";

export async function loadNatsIdentity(file: string): Promise<NatsIdentity> {
  return JSON.parse(await readFile(file, "utf8")) as NatsIdentity;
}

export interface AgentCredential {
  jwt: string;
  jwtId: string;
  expiresAt: Date;
}

/**
 * An agent's user JWT: in its org's own account when `orgId` is given (agents that said they can live there,
 * RegisterRequest.natsAccount), else in the shared application account (agents older than org accounts).
 */
export async function mintAgentCredential(
  identity: NatsIdentity,
  clusterId: string,
  agentPublicKey: string,
  ttlSeconds: number,
  orgId: string | null = null,
): Promise<AgentCredential> {
  const expiresAtSeconds = Math.floor(Date.now() / 1000) + ttlSeconds;
  const jwt = await mintUserJwt({
    ...agentUserJwtOptions(clusterId),
    userPublicKey: agentPublicKey,
    ...(orgId
      ? orgUserIssuer(identity, orgId)
      : { appAccountPublicKey: publicKeyOfSeed(identity.appAccountSeed), appSigningSeed: identity.appSigningSeed }),
    expiresAt: expiresAtSeconds,
  });
  // Read, not verified: we just signed it, and nats-jwt's decode verifies in pure JS (~30 ms of CPU per agent).
  const claims = JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8")) as ClaimsData<unknown>;
  return { jwt, jwtId: claims.jti, expiresAt: new Date(expiresAtSeconds * 1000) };
}

export class NatsAdminError extends Error {
  override name = "NatsAdminError";
}

/**
 * Re-signs the application account with the given revocations (user public key → revoked-at, seconds) and pushes
 * it through the system account. JWTs of a revoked key issued at or before that time stop working at once.
 */
export async function pushAccountRevocations(
  system: NatsConnection,
  identity: NatsIdentity,
  revocations: Record<string, number>,
): Promise<void> {
  const accountJwt = await encodeAppAccount(identity, { revocations });
  const account = publicKeyOfSeed(identity.appAccountSeed);
  const reply = await system.request(
    `$SYS.REQ.ACCOUNT.${account}.CLAIMS.UPDATE`,
    new TextEncoder().encode(accountJwt),
    {
      timeout: 5_000,
    },
  );
  const answer = JSON.parse(new TextDecoder().decode(reply.data)) as { error?: { description?: string } };
  if (answer.error)
    throw new NatsAdminError(`nats-server refused the account update: ${answer.error.description ?? "unknown"}`);
}

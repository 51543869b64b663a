/**
 * Integration credentials: an NKey and a user JWT of the org's own NATS account (nats/org-accounts.ts), signed by
 * that account's signing key, that may only subscribe to the org's event subjects (`stackyard.<orgId>.>`, which
 * reach the account through a stream import; nothing else of the control plane or of another org does). The
 * `.creds` text (JWT + seed) exists once, in the create response: only the public key and the JWT id are stored.
 * Revoking pushes the org account's revocation list to the NATS server, which closes the live connection. The
 * caller makes sure the org's account exists on the server before calling `createIntegrationCredential`.
 */
import { randomUUID } from "node:crypto";
import { createUser, decode, fmtCreds, type ClaimsData } from "nats-jwt";
import { NotFoundError, UnprocessableError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { OpBody } from "../_shared/rest.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import { mintUserJwt } from "../../nats/credentials.js";
import type { NatsIdentity } from "../../nats/identity.js";
import { orgUserIssuer } from "../../nats/org-accounts.js";
import { integrationSubjects, integrationUserJwtOptions } from "../../nats/protocol/integration-subjects.js";

export type CreateIntegrationCredentialInput = OpBody<"createIntegrationCredential">;

export interface IntegrationCredentialRow {
  id: string;
  org_id: string;
  name: string;
  public_nkey: string;
  jwt_id: string;
  created_by_type: string;
  created_by: string | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
}

export function integrationCredentialView(row: IntegrationCredentialRow) {
  const now = Date.now();
  return {
    id: row.id,
    name: row.name,
    publicKey: row.public_nkey,
    subjects: integrationSubjects.orgWildcard(row.org_id),
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
    status: row.revoked_at
      ? ("revoked" as const)
      : row.expires_at && row.expires_at.getTime() <= now
        ? ("expired" as const)
        : ("active" as const),
  };
}

export interface IntegrationConnectionInfo {
  natsUrls: string[];
  natsCa?: string;
}

export async function createIntegrationCredential(
  scope: TenantScope,
  principal: Principal,
  input: CreateIntegrationCredentialInput,
  identity: NatsIdentity,
  connection: IntegrationConnectionInfo,
  request: RequestInfo,
) {
  const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
  if (expiresAt && expiresAt.getTime() <= Date.now()) {
    throw new UnprocessableError("EXPIRY_IN_PAST", "expiresAt must be in the future");
  }
  const id = randomUUID();
  const user = createUser();
  const jwt = await mintUserJwt({
    ...integrationUserJwtOptions(scope.orgId, id),
    userPublicKey: user.getPublicKey(),
    ...orgUserIssuer(identity, scope.orgId),
    ...(expiresAt ? { expiresAt: Math.floor(expiresAt.getTime() / 1000) } : {}),
  });
  const claims: ClaimsData<unknown> = decode(jwt);
  return scope.transaction(async (tx) => {
    const [row] = (await tx
      .insert("integration_credentials", {
        id,
        name: input.name,
        public_nkey: user.getPublicKey(),
        jwt_id: claims.jti,
        created_by_type: principal.actorType,
        created_by: principal.userId,
        expires_at: expiresAt,
      })
      .returning("*")) as IntegrationCredentialRow[];
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "integration_credential.create",
        targetType: "integration_credential",
        targetId: id,
        data: { name: input.name, publicKey: user.getPublicKey(), expiresAt: expiresAt?.toISOString() ?? null },
      },
      request,
    );
    return {
      credential: integrationCredentialView(row!),
      // The only copy of the seed: never stored, logged or returned again.
      creds: new TextDecoder().decode(fmtCreds(jwt, user)),
      natsUrls: connection.natsUrls,
      ...(connection.natsCa ? { natsCa: connection.natsCa } : {}),
    };
  });
}

export async function listIntegrationCredentials(scope: TenantScope) {
  const rows = (await scope
    .from<IntegrationCredentialRow>("integration_credentials")
    .orderBy("created_at", "desc")) as IntegrationCredentialRow[];
  return { items: rows.map(integrationCredentialView) };
}

/** Marks the credential revoked (idempotent); the caller then pushes the revocation list to NATS. */
export async function revokeIntegrationCredential(
  scope: TenantScope,
  principal: Principal,
  credentialId: string,
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    const row = (await tx
      .from<IntegrationCredentialRow>("integration_credentials")
      .where({ id: credentialId })
      .forUpdate()
      .first()) as IntegrationCredentialRow | undefined;
    if (!row) throw new NotFoundError("INTEGRATION_CREDENTIAL_NOT_FOUND", "no such integration credential");
    if (row.revoked_at) return { credential: integrationCredentialView(row), changed: false };
    const [updated] = (await tx
      .from<IntegrationCredentialRow>("integration_credentials")
      .where({ id: credentialId })
      .update({ revoked_at: new Date() })
      .returning("*")) as IntegrationCredentialRow[];
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "integration_credential.revoke",
        targetType: "integration_credential",
        targetId: credentialId,
        data: { name: row.name, publicKey: row.public_nkey },
      },
      request,
    );
    return { credential: integrationCredentialView(updated!), changed: true };
  });
}

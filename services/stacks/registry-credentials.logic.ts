/**
 * Container-registry credentials of an org and the environments that use them. The password (or token) is stored
 * like an environment secret (AES-256-GCM under the master key, secrets-crypto.ts), bound to the credential's org,
 * id and version; no read returns it and no audit row holds it. At deploy the worker decrypts the ones attached to
 * the environment and seals them to the agent (nats/protocol/sealing.ts).
 */
import { ConflictError, NotFoundError } from "../_shared/errors.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { OpBody } from "../_shared/rest.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import { decryptSecret, encryptSecret, registryCredentialIdentity, type MasterKeys } from "./secrets-crypto.js";
import { findEnvironment } from "./stacks.logic.js";

interface RegistryCredentialRow {
  id: string;
  org_id: string;
  name: string;
  registry: string;
  username: string;
  version: number;
  ciphertext: Buffer;
  nonce: Buffer;
  auth_tag: Buffer;
  key_id: string;
  created_at: Date;
  updated_at: Date;
  updated_by: string | null;
}

const METADATA = [
  "id",
  "name",
  "registry",
  "username",
  "version",
  "created_at",
  "updated_at",
  "updated_by",
] as const satisfies ReadonlyArray<keyof RegistryCredentialRow>;
type CredentialMetadata = Pick<RegistryCredentialRow, (typeof METADATA)[number]>;

/** The registry's own spelling of Docker Hub; images without a host name it. */
export const DOCKER_HUB = "docker.io";
const DOCKER_HUB_ALIASES = new Set(["index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

/** `Index.Docker.io` → `docker.io`, `Registry.Example.com:5000` → `registry.example.com:5000`. */
export function normalizeRegistryHost(host: string): string {
  const lower = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(lower) ? DOCKER_HUB : lower;
}

const identityOf = registryCredentialIdentity;

export function registryCredentialView(row: CredentialMetadata) {
  return {
    id: row.id,
    name: row.name,
    registry: row.registry,
    username: row.username,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    updatedBy: row.updated_by,
  };
}

const UNIQUE_VIOLATION = "23505";
const isUniqueViolation = (err: unknown, constraint: string) =>
  (err as { code?: unknown }).code === UNIQUE_VIOLATION &&
  String((err as { constraint?: unknown }).constraint ?? "").includes(constraint);

async function findCredential(scope: TenantScope, id: string, forUpdate = false): Promise<CredentialMetadata> {
  const q = scope.from("registry_credentials").where({ id });
  if (forUpdate) q.forUpdate();
  const row = (await q.first(...METADATA)) as CredentialMetadata | undefined;
  if (!row) throw new NotFoundError("REGISTRY_CREDENTIAL_NOT_FOUND", "registry credential not found");
  return row;
}

export async function listRegistryCredentials(scope: TenantScope) {
  const rows = (await scope
    .from("registry_credentials")
    .orderBy("name")
    .select(...METADATA)) as CredentialMetadata[];
  return { items: rows.map(registryCredentialView) };
}

export type CreateRegistryCredentialInput = OpBody<"createRegistryCredential">;

export async function createRegistryCredential(
  scope: TenantScope,
  principal: Principal,
  input: CreateRegistryCredentialInput,
  keys: MasterKeys,
  request: RequestInfo,
) {
  const registry = normalizeRegistryHost(input.registry);
  return scope.transaction(async (tx) => {
    const [{ id }] = (await tx.db.raw("select gen_random_uuid() as id")).rows as [{ id: string }];
    const encrypted = encryptSecret(keys, input.password, identityOf(tx.orgId, id, 1));
    let row: CredentialMetadata;
    try {
      [row] = (await tx
        .insert("registry_credentials", {
          id,
          name: input.name,
          registry,
          username: input.username,
          version: 1,
          ciphertext: encrypted.ciphertext,
          nonce: encrypted.nonce,
          auth_tag: encrypted.authTag,
          key_id: encrypted.keyId,
          updated_by: principal.userId,
        })
        .returning([...METADATA])) as [CredentialMetadata];
    } catch (err) {
      if (isUniqueViolation(err, "org_id_name")) {
        throw new ConflictError("REGISTRY_CREDENTIAL_EXISTS", `a registry credential named "${input.name}" exists`, {
          name: input.name,
        });
      }
      throw err;
    }
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "registry_credential.create",
        targetType: "registry_credential",
        targetId: row.id,
        data: { name: row.name, registry, username: row.username },
      },
      request,
    );
    return registryCredentialView(row);
  });
}

export type UpdateRegistryCredentialInput = OpBody<"updateRegistryCredential">;

/** New username and/or password; the version goes up, so the old ciphertext can never be swapped back in. */
export async function updateRegistryCredential(
  scope: TenantScope,
  principal: Principal,
  credentialId: string,
  input: UpdateRegistryCredentialInput,
  keys: MasterKeys,
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    const current = await findCredential(tx, credentialId, true);
    const version = current.version + 1;
    let password: Buffer | string | undefined = input.password;
    if (password === undefined) {
      const stored = (await tx
        .from("registry_credentials")
        .where({ id: credentialId })
        .first("ciphertext", "nonce", "auth_tag", "key_id")) as RegistryCredentialRow;
      password = decryptSecret(
        keys,
        { ciphertext: stored.ciphertext, nonce: stored.nonce, authTag: stored.auth_tag, keyId: stored.key_id },
        identityOf(tx.orgId, credentialId, current.version),
      );
    }
    const encrypted = encryptSecret(keys, password, identityOf(tx.orgId, credentialId, version));
    const [row] = (await tx
      .from("registry_credentials")
      .where({ id: credentialId })
      .update({
        username: input.username ?? current.username,
        version,
        ciphertext: encrypted.ciphertext,
        nonce: encrypted.nonce,
        auth_tag: encrypted.authTag,
        key_id: encrypted.keyId,
        updated_at: tx.db.fn.now(),
        updated_by: principal.userId,
      })
      .returning([...METADATA])) as [CredentialMetadata];
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "registry_credential.update",
        targetType: "registry_credential",
        targetId: credentialId,
        data: {
          name: row.name,
          registry: row.registry,
          version,
          usernameChanged: input.username !== undefined && input.username !== current.username,
          passwordChanged: input.password !== undefined,
        },
      },
      request,
    );
    return registryCredentialView(row);
  });
}

export async function deleteRegistryCredential(
  scope: TenantScope,
  principal: Principal,
  credentialId: string,
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    const row = await findCredential(tx, credentialId, true);
    const detached = (await tx
      .from("environment_registry_credentials")
      .where({ credential_id: credentialId })
      .select("environment_id")) as Array<{ environment_id: string }>;
    await tx.from("registry_credentials").where({ id: credentialId }).delete();
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "registry_credential.delete",
        targetType: "registry_credential",
        targetId: credentialId,
        data: { name: row.name, registry: row.registry, detachedFrom: detached.map((d) => d.environment_id) },
      },
      request,
    );
    return registryCredentialView(row);
  });
}

export async function listEnvironmentRegistryCredentials(scope: TenantScope, environmentId: string) {
  await findEnvironment(scope, environmentId);
  const rows = (await scope
    .from("environment_registry_credentials")
    .join("registry_credentials as c", "c.id", "environment_registry_credentials.credential_id")
    .where({ environment_id: environmentId })
    .orderBy("c.registry")
    .select(...METADATA.map((c) => `c.${c}`))) as CredentialMetadata[];
  return { items: rows.map(registryCredentialView) };
}

export async function attachRegistryCredential(
  scope: TenantScope,
  principal: Principal,
  environmentId: string,
  credentialId: string,
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    await findEnvironment(tx, environmentId);
    const credential = await findCredential(tx, credentialId);
    const existing = (await tx
      .from("environment_registry_credentials")
      .where({ environment_id: environmentId, registry: credential.registry })
      .first("credential_id")) as { credential_id: string } | undefined;
    if (existing?.credential_id === credentialId) return registryCredentialView(credential);
    if (existing) {
      throw new ConflictError(
        "REGISTRY_ALREADY_COVERED",
        `the environment already uses another credential for ${credential.registry}; detach it first`,
        { registry: credential.registry, credentialId: existing.credential_id },
      );
    }
    try {
      await tx.insert("environment_registry_credentials", {
        environment_id: environmentId,
        credential_id: credentialId,
        registry: credential.registry,
      });
    } catch (err) {
      if (isUniqueViolation(err, "environment_registry_credentials")) {
        throw new ConflictError(
          "REGISTRY_ALREADY_COVERED",
          `the environment already uses another credential for ${credential.registry}; detach it first`,
          { registry: credential.registry },
        );
      }
      throw err;
    }
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "registry_credential.attach",
        targetType: "environment",
        targetId: environmentId,
        data: { credentialId, name: credential.name, registry: credential.registry },
      },
      request,
    );
    return registryCredentialView(credential);
  });
}

export async function detachRegistryCredential(
  scope: TenantScope,
  principal: Principal,
  environmentId: string,
  credentialId: string,
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    await findEnvironment(tx, environmentId);
    const credential = await findCredential(tx, credentialId);
    const removed = await tx
      .from("environment_registry_credentials")
      .where({ environment_id: environmentId, credential_id: credentialId })
      .delete();
    if (removed === 0) {
      throw new NotFoundError("REGISTRY_CREDENTIAL_NOT_ATTACHED", "the credential is not attached to this environment");
    }
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "registry_credential.detach",
        targetType: "environment",
        targetId: environmentId,
        data: { credentialId, name: credential.name, registry: credential.registry },
      },
      request,
    );
    return registryCredentialView(credential);
  });
}

export interface RegistryLogin {
  registry: string;
  username: string;
  password: string;
}

/** The environment's registry logins, decrypted in memory for one deploy command (the worker seals them at once). */
export async function loadRegistryLogins(
  scope: TenantScope,
  environmentId: string,
  keys: MasterKeys,
): Promise<RegistryLogin[]> {
  const rows = (await scope
    .from("environment_registry_credentials")
    .join("registry_credentials as c", "c.id", "environment_registry_credentials.credential_id")
    .where({ environment_id: environmentId })
    .orderBy("c.registry")
    .select(
      "c.id",
      "c.registry",
      "c.username",
      "c.version",
      "c.ciphertext",
      "c.nonce",
      "c.auth_tag",
      "c.key_id",
    )) as RegistryCredentialRow[];
  return rows.map((r) => ({
    registry: r.registry,
    username: r.username,
    password: decryptSecret(
      keys,
      { ciphertext: r.ciphertext, nonce: r.nonce, authTag: r.auth_tag, keyId: r.key_id },
      identityOf(scope.orgId, r.id, r.version),
    ).toString("utf8"),
  }));
}

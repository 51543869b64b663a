/**
 * An org's notification endpoints: create (the signing secret generated here, returned once, stored encrypted),
 * list, change, delete, each audited in its transaction. The URL is checked by the SSRF guard on every change;
 * it is not written to the audit log (a Slack webhook URL is itself a credential), only its host is.
 */
import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import { isUniqueViolation } from "../_shared/db.js";
import { ConflictError, NotFoundError } from "../_shared/errors.js";
import type { MasterKeys } from "../_shared/master-keys.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { OpBody } from "../_shared/rest.js";
import type { TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import { decryptAtRest, encryptAtRest, reencryptTable, verifyTableKeys } from "../stacks/index.js";
import { checkEndpointUrl, type EndpointHostPolicy } from "./host-check.js";
import { newSigningSecret } from "./signature.js";
import type { PayloadFormat } from "./payloads.js";

export type CreateEndpointInput = OpBody<"createNotificationEndpoint">;
export type UpdateEndpointInput = OpBody<"updateNotificationEndpoint">;
export type NotificationEventType = CreateEndpointInput["eventTypes"][number];

export interface EndpointRow {
  id: string;
  org_id: string;
  name: string;
  url: string;
  format: PayloadFormat;
  event_types: NotificationEventType[];
  enabled: boolean;
  ciphertext: Buffer;
  nonce: Buffer;
  auth_tag: Buffer;
  key_id: string;
  created_by_type: string;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export function endpointView(row: EndpointRow) {
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    format: row.format,
    eventTypes: row.event_types,
    enabled: row.enabled,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Binds a ciphertext to its org and endpoint row: a secret copied onto another row fails to decrypt. */
const aadOf = (orgId: string, endpointId: string) =>
  Buffer.from(JSON.stringify(["stackyard.notification-endpoint.v1", orgId, endpointId]));

export function signingSecretOf(keys: MasterKeys, row: EndpointRow): string {
  return decryptAtRest(
    keys,
    { ciphertext: row.ciphertext, nonce: row.nonce, authTag: row.auth_tag, keyId: row.key_id },
    aadOf(row.org_id, row.id),
  ).toString("utf8");
}

export const NOTIFICATION_TABLE_KEYS = {
  table: "notification_endpoints",
  columns: ["id", "org_id", "ciphertext", "nonce", "auth_tag", "key_id"] as const,
  aadOf: (row: { id: string; org_id: string }) => aadOf(row.org_id, row.id),
};

export interface EndpointDeps {
  keys: MasterKeys;
  policy: EndpointHostPolicy;
}

const nameTaken = (name: string) =>
  new ConflictError("NOTIFICATION_ENDPOINT_NAME_TAKEN", `an endpoint named "${name}" already exists`, {
    field: "name",
  });

export async function findEndpoint(scope: TenantScope, endpointId: string): Promise<EndpointRow> {
  const row = await scope
    .from<EndpointRow>("notification_endpoints")
    .where("notification_endpoints.id", endpointId)
    .first();
  if (!row) throw new NotFoundError("NOTIFICATION_ENDPOINT_NOT_FOUND", "no such notification endpoint");
  return row;
}

export async function listEndpoints(scope: TenantScope) {
  const rows = await scope.from<EndpointRow>("notification_endpoints").orderBy("name");
  return { items: rows.map(endpointView) };
}

export async function createEndpoint(
  scope: TenantScope,
  principal: Principal,
  input: CreateEndpointInput,
  deps: EndpointDeps,
  request: RequestInfo,
) {
  const { url } = await checkEndpointUrl(input.url, deps.policy);
  const id = randomUUID();
  const secret = newSigningSecret();
  const sealed = encryptAtRest(deps.keys, secret, aadOf(scope.orgId, id));
  return scope.transaction(async (tx) => {
    let row: EndpointRow | undefined;
    try {
      [row] = (await tx
        .insert("notification_endpoints", {
          id,
          name: input.name,
          url: url.toString(),
          format: input.format ?? "json",
          event_types: input.eventTypes,
          enabled: input.enabled ?? true,
          ciphertext: sealed.ciphertext,
          nonce: sealed.nonce,
          auth_tag: sealed.authTag,
          key_id: sealed.keyId,
          created_by_type: principal.actorType,
          created_by: principal.userId,
        })
        .returning("*")) as EndpointRow[];
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(input.name);
      throw err;
    }
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "notification_endpoint.create",
        targetType: "notification_endpoint",
        targetId: id,
        data: { name: input.name, host: url.host, format: input.format ?? "json", eventTypes: input.eventTypes },
      },
      request,
    );
    return { endpoint: endpointView(row!), signingSecret: secret };
  });
}

export async function updateEndpoint(
  scope: TenantScope,
  principal: Principal,
  endpointId: string,
  input: UpdateEndpointInput,
  deps: EndpointDeps,
  request: RequestInfo,
) {
  const url = input.url === undefined ? undefined : (await checkEndpointUrl(input.url, deps.policy)).url;
  return scope.transaction(async (tx) => {
    const before = await findEndpoint(tx, endpointId);
    const changes = {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(url ? { url: url.toString() } : {}),
      ...(input.format !== undefined ? { format: input.format } : {}),
      ...(input.eventTypes !== undefined ? { event_types: input.eventTypes } : {}),
      ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
    };
    let row: EndpointRow | undefined;
    try {
      [row] = (await tx
        .from<EndpointRow>("notification_endpoints")
        .where("notification_endpoints.id", endpointId)
        .update({ ...changes, updated_at: tx.db.fn.now() })
        .returning("*")) as EndpointRow[];
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(input.name ?? before.name);
      throw err;
    }
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "notification_endpoint.update",
        targetType: "notification_endpoint",
        targetId: endpointId,
        data: {
          name: row!.name,
          changed: Object.keys(input),
          ...(url ? { host: url.host } : {}),
        },
      },
      request,
    );
    return endpointView(row!);
  });
}

export async function deleteEndpoint(
  scope: TenantScope,
  principal: Principal,
  endpointId: string,
  request: RequestInfo,
): Promise<void> {
  await scope.transaction(async (tx) => {
    const row = await findEndpoint(tx, endpointId);
    await tx.from("notification_endpoints").where("notification_endpoints.id", endpointId).delete();
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "notification_endpoint.delete",
        targetType: "notification_endpoint",
        targetId: endpointId,
        data: { name: row.name },
      },
      request,
    );
  });
}

/** Start-up and rotation check (system-wide): one endpoint per key id in use must decrypt. */
export const verifyNotificationKeys = (db: Knex, keys: MasterKeys): Promise<{ checkedKeyIds: string[] }> =>
  verifyTableKeys(db, keys, NOTIFICATION_TABLE_KEYS, "notification endpoints");

/** Master-key rotation of the signing secrets (scripts/rotate-master-key.ts). */
export async function rotateNotificationSecrets(db: Knex, keys: MasterKeys, batchSize = 100) {
  return { reencrypted: await reencryptTable<EndpointRow>(db, keys, NOTIFICATION_TABLE_KEYS, batchSize) };
}

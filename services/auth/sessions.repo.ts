/**
 * Refresh-token sessions. A login starts a family; each refresh uses up the presented row and adds its
 * successor. Presenting a used token again means it was copied: the whole family is revoked.
 * Lookups here happen before the caller is authenticated and find rows by the hash of a 256-bit secret.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Knex } from "knex";
import type { Db } from "../_shared/db.js";
import { UnauthorizedError } from "../_shared/errors.js";
import type { RequestInfo } from "../_shared/principal.js";

export const hashRefreshToken = (token: string): string => createHash("sha256").update(token).digest("hex");

const newRefreshToken = (): string => `srt_${randomBytes(32).toString("base64url")}`;

export interface IssuedRefreshToken {
  refreshToken: string;
  familyId: string;
  expiresAt: Date;
}

export interface SessionLimits {
  /** Lifetime of one refresh token. */
  ttlSeconds: number;
  /** Lifetime of the whole family, from its login: a refresh never issues a token expiring later. */
  maxLifetimeSeconds: number;
}

export async function startSession(
  trx: Knex.Transaction | Db,
  user: { id: string; orgId: string },
  limits: SessionLimits,
  request: RequestInfo,
): Promise<IssuedRefreshToken> {
  const now = Date.now();
  const expiresAt = new Date(now + Math.min(limits.ttlSeconds, limits.maxLifetimeSeconds) * 1000);
  return insertSessionRow(
    trx,
    { userId: user.id, orgId: user.orgId, familyId: randomUUID(), parentId: null },
    expiresAt,
    request,
  );
}

async function insertSessionRow(
  trx: Knex.Transaction | Db,
  row: { userId: string; orgId: string; familyId: string; parentId: string | null },
  expiresAt: Date,
  request: RequestInfo,
): Promise<IssuedRefreshToken> {
  const refreshToken = newRefreshToken();
  await trx("sessions").insert({
    org_id: row.orgId,
    user_id: row.userId,
    family_id: row.familyId,
    parent_id: row.parentId,
    token_hash: hashRefreshToken(refreshToken),
    expires_at: expiresAt,
    ip: request.ip,
    user_agent: request.userAgent?.slice(0, 512) ?? null,
  });
  return { refreshToken, familyId: row.familyId, expiresAt };
}

interface SessionRow {
  id: string;
  token_hash: string;
  org_id: string;
  user_id: string;
  family_id: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

export type RotationOutcome =
  | { kind: "rotated"; issued: IssuedRefreshToken; userId: string; orgId: string }
  | { kind: "reused"; familyId: string; userId: string; orgId: string };

/** Uses up a refresh token and issues its successor, or detects reuse. Runs inside the caller's transaction. */
export async function rotateSession(
  trx: Knex.Transaction,
  refreshToken: string,
  limits: SessionLimits,
  request: RequestInfo,
): Promise<RotationOutcome> {
  const row = await trx<SessionRow>("sessions")
    .where({ token_hash: hashRefreshToken(refreshToken) })
    .forUpdate()
    .first();
  if (!row || row.revoked_at)
    throw new UnauthorizedError("INVALID_REFRESH_TOKEN", "refresh token is invalid or revoked");
  if (row.used_at) {
    await revokeFamily(trx, row.family_id);
    return { kind: "reused", familyId: row.family_id, userId: row.user_id, orgId: row.org_id };
  }
  if (row.expires_at <= new Date())
    throw new UnauthorizedError("REFRESH_TOKEN_EXPIRED", "refresh token expired; log in again");
  // The family's login is its oldest row; the successor expires by then + the absolute lifetime at the latest.
  const family = (await trx("sessions").where({ family_id: row.family_id }).min("created_at as started").first()) as
    { started: Date | null } | undefined;
  const started = family?.started ?? new Date();
  const endOfSession = started.getTime() + limits.maxLifetimeSeconds * 1000;
  if (endOfSession <= Date.now()) {
    throw new UnauthorizedError("SESSION_EXPIRED", "the session reached its maximum lifetime; log in again");
  }
  await trx("sessions").where({ id: row.id }).update({ used_at: trx.fn.now() });
  const issued = await insertSessionRow(
    trx,
    { userId: row.user_id, orgId: row.org_id, familyId: row.family_id, parentId: row.id },
    new Date(Math.min(Date.now() + limits.ttlSeconds * 1000, endOfSession)),
    request,
  );
  return { kind: "rotated", issued, userId: row.user_id, orgId: row.org_id };
}

export async function revokeFamily(trx: Knex.Transaction | Db, familyId: string): Promise<void> {
  await trx("sessions").where({ family_id: familyId }).whereNull("revoked_at").update({ revoked_at: trx.fn.now() });
}

/** A family is live while its newest token is neither used, revoked nor expired. */
export async function isFamilyLive(db: Db, familyId: string): Promise<boolean> {
  const row = await db("sessions")
    .where({ family_id: familyId })
    .whereNull("revoked_at")
    .whereNull("used_at")
    .where("expires_at", ">", db.fn.now())
    .first("id");
  return Boolean(row);
}

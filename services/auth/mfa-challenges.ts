/**
 * The token between a login's two steps. A right password for an account that needs a code (`login`) or must
 * enrol first (`enroll`) gets one: 256 random bits, single-use, short-lived, kept as its SHA-256 only. Lookups here
 * happen before the caller is authenticated.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Knex } from "knex";
import type { Db } from "../_shared/db.js";
import { UnauthorizedError } from "../_shared/errors.js";

export type ChallengePurpose = "login" | "enroll";

/** Time to type a code; enrolment also needs time to install an authenticator app. */
export const CHALLENGE_TTL_SECONDS: Record<ChallengePurpose, number> = { login: 300, enroll: 900 };

const hashChallenge = (token: string): string => createHash("sha256").update(token).digest("hex");

/** error.details of the 401 that asks for the second step (a record: it travels as an error's data). */
export type IssuedChallenge = Record<string, string> & { challengeToken: string; challengeExpiresAt: string };

export async function issueChallenge(
  db: Db | Knex.Transaction,
  user: { id: string; org_id: string },
  purpose: ChallengePurpose,
): Promise<IssuedChallenge> {
  const token = `smc_${randomBytes(32).toString("base64url")}`;
  const expiresAt = new Date(Date.now() + CHALLENGE_TTL_SECONDS[purpose] * 1000);
  // The user's spent and expired challenges go as a new one comes: the table holds a handful of rows per user.
  await db("mfa_challenges")
    .where({ user_id: user.id })
    .andWhere((q) => q.whereNotNull("used_at").orWhere("expires_at", "<=", new Date()))
    .delete();
  await db("mfa_challenges").insert({
    org_id: user.org_id,
    user_id: user.id,
    token_hash: hashChallenge(token),
    purpose,
    expires_at: expiresAt,
  });
  return { challengeToken: token, challengeExpiresAt: expiresAt.toISOString() };
}

export interface ChallengeRow {
  id: string;
  org_id: string;
  user_id: string;
  purpose: ChallengePurpose;
  expires_at: Date;
  used_at: Date | null;
}

/** The live challenge of `purpose` behind `token`, or 401 MFA_CHALLENGE_INVALID (unknown, used, expired, other step). */
export async function findChallenge(
  db: Db | Knex.Transaction,
  token: string,
  purpose: ChallengePurpose,
): Promise<ChallengeRow> {
  const row = (await db("mfa_challenges")
    .where({ token_hash: hashChallenge(token) })
    .first()) as ChallengeRow | undefined;
  if (!row || row.used_at || row.expires_at <= new Date() || row.purpose !== purpose) {
    throw new UnauthorizedError("MFA_CHALLENGE_INVALID", "this login step expired or was already used; log in again");
  }
  return row;
}

/** Spends the challenge inside the transaction that completes the login; a concurrent completion loses here. */
export async function consumeChallenge(trx: Knex.Transaction, challengeId: string): Promise<void> {
  const spent = await trx("mfa_challenges")
    .where({ id: challengeId })
    .whereNull("used_at")
    .update({ used_at: trx.fn.now() })
    .returning("id");
  if (spent.length === 0) {
    throw new UnauthorizedError("MFA_CHALLENGE_INVALID", "this login step expired or was already used; log in again");
  }
}

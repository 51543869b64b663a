/**
 * Login throttling, stored in Postgres (see the login_throttle migration for why). Every attempt *reserves* its
 * place before the password hash is checked, in one atomic upsert, so a parallel burst cannot slip past the
 * check: at most `freeFailures` attempts per window (plus one each time a lock runs out) reach argon2.
 *  - the account gate, per (org, email): after `freeFailures` failures each further failure locks the account's
 *    logins for an exponentially growing time;
 *  - the source gate, per client IP: after its budget, that address is slowed to one attempt every few seconds,
 *    except for accounts that already logged in successfully from it (`login_trusted_sources`), so one attacker
 *    behind a shared NAT or proxy cannot lock the whole office out.
 * A successful login gives its reservations back.
 */
import { loginFailures } from "../_shared/metrics.js";
import type { Db } from "../_shared/db.js";
import { TooManyRequestsError } from "../_shared/errors.js";

export interface ThrottlePolicy {
  windowSeconds: number;
  freeFailures: number;
  baseLockSeconds: number;
  maxLockSeconds: number;
}

export const ACCOUNT_POLICY: ThrottlePolicy = {
  windowSeconds: 900,
  freeFailures: 5,
  baseLockSeconds: 30,
  maxLockSeconds: 900,
};
/** Over its budget, an address gets one attempt per `baseLockSeconds`: slowed, never locked for long. */
export const SOURCE_POLICY: ThrottlePolicy = {
  windowSeconds: 900,
  freeFailures: 30,
  baseLockSeconds: 2,
  maxLockSeconds: 2,
};
/** Wrong system bootstrap credentials per address: a few, then locked for growing times. */
export const BOOTSTRAP_POLICY: ThrottlePolicy = {
  windowSeconds: 900,
  freeFailures: 5,
  baseLockSeconds: 60,
  maxLockSeconds: 3600,
};
/** How long a successful login from an address keeps that (account, address) pair past the source gate. */
export const TRUSTED_SOURCE_DAYS = 30;

export const accountKey = (orgId: string | null, email: string): string => `account:${orgId ?? "-"}:${email}`;
export const sourceKey = (ip: string): string => `ip:${ip}`;
export const bootstrapKey = (ip: string): string => `bootstrap:${ip}`;

export function lockSeconds(policy: ThrottlePolicy, failures: number): number {
  if (failures <= policy.freeFailures) return 0;
  return Math.min(policy.maxLockSeconds, policy.baseLockSeconds * 2 ** (failures - policy.freeFailures - 1));
}

/**
 * Counts one attempt against `key`, or throws 429 when the key is locked. One statement: concurrent attempts
 * serialise on the row, and the attempt that crosses the budget sets the lock the next ones see.
 */
export async function reserveAttempt(db: Db, key: string, policy: ThrottlePolicy, now = new Date()): Promise<void> {
  const windowStart = new Date(now.getTime() - policy.windowSeconds * 1000);
  const next = "(CASE WHEN t.window_started_at < :windowStart THEN 1 ELSE t.failures + 1 END)";
  const lockFor = (failures: string) =>
    `CASE WHEN ${failures} > :free THEN :now::timestamptz + make_interval(secs => LEAST(:maxLock, :baseLock * power(2, ${failures} - :free - 1))) END`;
  const params = {
    key,
    now,
    windowStart,
    free: policy.freeFailures,
    baseLock: policy.baseLockSeconds,
    maxLock: policy.maxLockSeconds,
  };
  const reserved = await db.raw<{ rows: unknown[] }>(
    `INSERT INTO login_throttle AS t (key, failures, window_started_at, locked_until)
     VALUES (:key, 1, :now, ${lockFor("1")})
     ON CONFLICT (key) DO UPDATE SET
       failures = ${next},
       window_started_at = CASE WHEN t.window_started_at < :windowStart THEN :now ELSE t.window_started_at END,
       locked_until = ${lockFor(next)}
     WHERE t.locked_until IS NULL OR t.locked_until <= :now
     RETURNING t.failures`,
    params,
  );
  if (reserved.rows.length > 0) return;
  const row = await db<{ key: string; locked_until: Date | null }>("login_throttle").where("key", key).first();
  const retryAfter = Math.max(1, Math.ceil(((row?.locked_until?.getTime() ?? now.getTime()) - now.getTime()) / 1000));
  loginFailures.inc({ reason: "throttled" });
  throw new TooManyRequestsError("LOGIN_THROTTLED", `too many failed logins; retry in ${retryAfter} s`, retryAfter);
}

/** Gives back one reservation of `key` (the attempt succeeded); the row goes when nothing is left. */
export async function releaseAttempt(db: Db, key: string): Promise<void> {
  await db.raw(
    `WITH gone AS (DELETE FROM login_throttle WHERE key = :key AND failures <= 1 AND locked_until IS NULL RETURNING key)
     UPDATE login_throttle SET failures = failures - 1 WHERE key = :key AND failures > 1 AND NOT EXISTS (SELECT 1 FROM gone)`,
    { key },
  );
}

export async function clearAccountFailures(db: Db, orgId: string, email: string): Promise<void> {
  await db("login_throttle")
    .whereIn("key", [accountKey(orgId, email), accountKey(null, email)])
    .delete();
}

export async function isTrustedSource(db: Db, userId: string, ip: string, now = new Date()): Promise<boolean> {
  const since = new Date(now.getTime() - TRUSTED_SOURCE_DAYS * 24 * 3600 * 1000);
  const row = await db("login_trusted_sources")
    .where({ user_id: userId, ip })
    .andWhere("last_success_at", ">=", since)
    .first("user_id");
  return row !== undefined;
}

export async function rememberTrustedSource(db: Db, userId: string, ip: string, now = new Date()): Promise<void> {
  await db("login_trusted_sources")
    .insert({ user_id: userId, ip, last_success_at: now })
    .onConflict(["user_id", "ip"])
    .merge(["last_success_at"]);
}

/** Housekeeping: forget windows that ended long ago (never unexpired locks) and trusted sources gone stale. */
export async function pruneLoginThrottle(db: Db, now = new Date()): Promise<number> {
  const pruned = await db("login_throttle")
    .where("window_started_at", "<", new Date(now.getTime() - 24 * 3600 * 1000))
    .andWhere((q) => q.whereNull("locked_until").orWhere("locked_until", "<", now))
    .delete();
  await db("login_trusted_sources")
    .where("last_success_at", "<", new Date(now.getTime() - TRUSTED_SOURCE_DAYS * 24 * 3600 * 1000))
    .delete();
  return pruned;
}

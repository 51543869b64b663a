/**
 * Login throttling per email and per client IP, stored in Postgres (see the migration for why).
 * After `freeFailures` failures in a window, each further failure locks the key for an exponentially growing time.
 */
import type { Db } from "../_shared/db.js";
import { TooManyRequestsError } from "../_shared/errors.js";

export interface ThrottlePolicy {
  windowSeconds: number;
  freeFailures: number;
  baseLockSeconds: number;
  maxLockSeconds: number;
}

export const EMAIL_POLICY: ThrottlePolicy = {
  windowSeconds: 900,
  freeFailures: 5,
  baseLockSeconds: 30,
  maxLockSeconds: 900,
};
export const IP_POLICY: ThrottlePolicy = {
  windowSeconds: 900,
  freeFailures: 30,
  baseLockSeconds: 30,
  maxLockSeconds: 900,
};

export interface ThrottleKeys {
  email: string;
  ip: string | null;
}

const keysOf = (k: ThrottleKeys): Array<[string, ThrottlePolicy]> => {
  const keys: Array<[string, ThrottlePolicy]> = [[`email:${k.email}`, EMAIL_POLICY]];
  if (k.ip) keys.push([`ip:${k.ip}`, IP_POLICY]);
  return keys;
};

/** Throws 429 with the seconds to wait when either key is locked. */
export async function assertNotThrottled(db: Db, keys: ThrottleKeys, now = new Date()): Promise<void> {
  const rows = await db<{ key: string; locked_until: Date | null }>("login_throttle")
    .whereIn(
      "key",
      keysOf(keys).map(([k]) => k),
    )
    .select("key", "locked_until");
  const waits = rows
    .filter((r) => r.locked_until && r.locked_until > now)
    .map((r) => Math.ceil((r.locked_until!.getTime() - now.getTime()) / 1000));
  if (waits.length > 0) {
    const retryAfter = Math.max(...waits);
    throw new TooManyRequestsError("LOGIN_THROTTLED", `too many failed logins; retry in ${retryAfter} s`, retryAfter);
  }
}

export function lockSeconds(policy: ThrottlePolicy, failures: number): number {
  if (failures <= policy.freeFailures) return 0;
  return Math.min(policy.maxLockSeconds, policy.baseLockSeconds * 2 ** (failures - policy.freeFailures - 1));
}

export async function recordLoginFailure(db: Db, keys: ThrottleKeys, now = new Date()): Promise<void> {
  for (const [key, policy] of keysOf(keys)) {
    await db.transaction(async (trx) => {
      const row = await trx<{ key: string; failures: number; window_started_at: Date }>("login_throttle")
        .where("key", key)
        .forUpdate()
        .first();
      const windowExpired = !row || now.getTime() - row.window_started_at.getTime() > policy.windowSeconds * 1000;
      const failures = windowExpired ? 1 : row.failures + 1;
      const lock = lockSeconds(policy, failures);
      const values = {
        failures,
        window_started_at: windowExpired ? now : row.window_started_at,
        locked_until: lock > 0 ? new Date(now.getTime() + lock * 1000) : null,
      };
      if (row) await trx("login_throttle").where({ key }).update(values);
      else
        await trx("login_throttle")
          .insert({ key, ...values })
          .onConflict("key")
          .merge();
    });
  }
}

export async function clearLoginFailures(db: Db, email: string): Promise<void> {
  await db("login_throttle")
    .where({ key: `email:${email}` })
    .delete();
}

/** Housekeeping: forget windows that ended long ago (never unexpired locks). */
export async function pruneLoginThrottle(db: Db, now = new Date()): Promise<number> {
  return db("login_throttle")
    .where("window_started_at", "<", new Date(now.getTime() - 24 * 3600 * 1000))
    .andWhere((q) => q.whereNull("locked_until").orWhere("locked_until", "<", now))
    .delete();
}

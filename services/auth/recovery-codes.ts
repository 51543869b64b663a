/**
 * One-time MFA recovery codes: 10 per set, 80 random bits each, written `xxxx-xxxx-xxxx-xxxx` (base32, lower case).
 * Shown once; only their SHA-256 is stored (the entropy makes a slow hash unnecessary). A new set replaces the old.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Knex } from "knex";
import type { Db } from "../_shared/db.js";
import { base32Encode } from "./totp.js";

export const RECOVERY_CODE_COUNT = 10;
const RECOVERY_CODE_BYTES = 10;

/** Case, spaces and dashes do not matter when typing one back. */
export const normaliseRecoveryCode = (code: string): string => code.toLowerCase().replace(/[\s-]/g, "");

export const looksLikeRecoveryCode = (code: string): boolean => /^[a-z2-7]{16}$/.test(normaliseRecoveryCode(code));

const hashRecoveryCode = (code: string): string =>
  createHash("sha256").update(normaliseRecoveryCode(code)).digest("hex");

export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () =>
    base32Encode(randomBytes(RECOVERY_CODE_BYTES))
      .toLowerCase()
      .replace(/(.{4})(?!$)/g, "$1-"),
  );
}

/** Replaces the user's codes with a fresh set and returns it (the only time the codes exist in clear). */
export async function replaceRecoveryCodes(
  trx: Knex.Transaction,
  user: { id: string; orgId: string },
): Promise<string[]> {
  const codes = newRecoveryCodes();
  await trx("mfa_recovery_codes").where({ user_id: user.id, org_id: user.orgId }).delete();
  await trx("mfa_recovery_codes").insert(
    codes.map((c) => ({ org_id: user.orgId, user_id: user.id, code_hash: hashRecoveryCode(c) })),
  );
  return codes;
}

/** Spends one unused code of the user; false when it is unknown or already spent. One statement: no double spend. */
export async function spendRecoveryCode(db: Db | Knex.Transaction, userId: string, code: string): Promise<boolean> {
  const spent = await db("mfa_recovery_codes")
    .where({ user_id: userId, code_hash: hashRecoveryCode(code) })
    .whereNull("used_at")
    .update({ used_at: db.fn.now() })
    .returning("id");
  return spent.length > 0;
}

export async function unusedRecoveryCodes(db: Db | Knex.Transaction, userId: string): Promise<number> {
  const [row] = (await db("mfa_recovery_codes")
    .where({ user_id: userId })
    .whereNull("used_at")
    .count<{ n: string }[]>({ n: "*" })) as Array<{ n: string }>;
  return Number(row?.n ?? 0);
}

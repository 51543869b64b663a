/** Password hashing (argon2id) and the password policy. */
import argon2 from "argon2";
import { UnprocessableError } from "../_shared/errors.js";

/** OWASP's argon2id baseline is m=19 MiB, t=2, p=1; we use more memory and one more pass. */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 64 * 1024, timeCost: 3, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

export function hashSecret(plain: string): Promise<string> {
  return argon2.hash(plain, ARGON2_OPTIONS);
}

export async function verifySecret(hash: string, plain: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, plain);
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;
/**
 * Verifies against a throwaway hash, so an unknown email costs the same time as a wrong password.
 * The result is always false.
 */
export async function burnVerification(plain: string): Promise<false> {
  dummyHash ??= hashSecret("stackyard-timing-equaliser-" + Math.random());
  await verifySecret(await dummyHash, plain);
  return false;
}

export function assertPasswordPolicy(password: string, email: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new UnprocessableError("WEAK_PASSWORD", `password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new UnprocessableError("WEAK_PASSWORD", `password must be at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  if (password.trim().toLowerCase() === email.trim().toLowerCase()) {
    throw new UnprocessableError("WEAK_PASSWORD", "password must not be the email address");
  }
}

export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

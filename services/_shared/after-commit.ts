import type { Knex } from "knex";

/** Runs `fn` once `db`'s transaction has committed (at once outside one); never for a rolled-back transaction. */
export function afterCommit(db: Knex | Knex.Transaction, fn: () => void): void {
  if (!db.isTransaction) return fn();
  (db as Knex.Transaction).executionPromise.then(fn, () => undefined);
}

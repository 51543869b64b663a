/** Postgres access through knex, and the migrator both `make migrate` and readiness use. */
import knexFactory, { type Knex } from "knex";
import { MIGRATIONS_DIR } from "./paths.js";

export type Db = Knex;

export function createDb(url: string, poolMax = 10): Db {
  return knexFactory({
    client: "pg",
    connection: { connectionString: url, application_name: "stackyard" },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
  });
}

export const MIGRATION_CONFIG: Knex.MigratorConfig = {
  directory: MIGRATIONS_DIR,
  loadExtensions: [".ts"],
  tableName: "knex_migrations",
};

export async function migrateLatest(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest(MIGRATION_CONFIG)) as [number, string[]];
  return applied;
}

export async function migrateRollbackAll(db: Db): Promise<string[]> {
  const [, reverted] = (await db.migrate.rollback(MIGRATION_CONFIG, true)) as [number, string[]];
  return reverted;
}

export async function pendingMigrations(db: Db): Promise<string[]> {
  const [, pending] = (await db.migrate.list(MIGRATION_CONFIG)) as [unknown[], Array<{ file: string } | string>];
  return pending.map((p) => (typeof p === "string" ? p : p.file));
}

/** Postgres' unique_violation: a concurrent or repeated insert of a key that exists. */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown }).code === "23505";
}

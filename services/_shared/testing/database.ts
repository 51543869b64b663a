/** The test database: TEST_DATABASE_URL (written to .state/env.sh by scripts/deps.sh). */
import { createDb, migrateLatest, type Db } from "../db.js";

export function testDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url)
    throw new Error("TEST_DATABASE_URL is not set: run the tests through `make test` (it runs scripts/deps.sh)");
  return url;
}

/** Tables that tests may empty; knex's own bookkeeping is never touched. */
export async function truncateAll(db: Db): Promise<void> {
  const rows = await db
    .select<{ tablename: string }[]>("tablename")
    .from("pg_tables")
    .where("schemaname", "public")
    .whereNot("tablename", "like", "knex_%");
  if (rows.length === 0) return;
  await db.raw(`TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(", ")} CASCADE`);
}

/** A migrated, empty test database. */
export async function createTestDb(): Promise<Db> {
  const db = createDb(testDatabaseUrl(), 5);
  await migrateLatest(db);
  await truncateAll(db);
  return db;
}

/**
 * The test database. Each test process gets its own database (`<TEST_DATABASE_URL's name>_p<pid>`), so suites
 * run by parallel processes never empty each other's tables; databases of processes that are gone are dropped.
 */
import pg from "pg";
import { createDb, migrateLatest, type Db } from "../db.js";

function baseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url)
    throw new Error("TEST_DATABASE_URL is not set: run the tests through `make test` (it runs scripts/deps.sh)");
  return url;
}

const baseName = (): string => decodeURIComponent(new URL(baseUrl()).pathname.replace(/^\//, ""));
const processDbName = (): string => `${baseName()}_p${process.pid}`;

export function testDatabaseUrl(): string {
  const url = new URL(baseUrl());
  url.pathname = `/${processDbName()}`;
  return url.toString();
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

let ensured: Promise<void> | undefined;
/** Creates this process's database once, and drops those left by processes that no longer run. */
export function ensureProcessDatabase(): Promise<void> {
  ensured ??= (async () => {
    const admin = new URL(baseUrl());
    admin.pathname = "/postgres";
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      const prefix = `${baseName()}_p`;
      const rows = await client.query<{ datname: string }>(
        "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
        [prefix],
      );
      for (const { datname } of rows.rows) {
        const pid = Number(datname.slice(prefix.length));
        if (Number.isInteger(pid) && pid !== process.pid && !isAlive(pid)) {
          await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
        }
      }
      const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [processDbName()]);
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${processDbName()}"`);
    } finally {
      await client.end();
    }
  })();
  return ensured;
}

/** Tables that tests may empty; knex's own bookkeeping is never touched. */
export async function truncateAll(db: Db): Promise<void> {
  const rows = await db
    .select<{ tablename: string }[]>("tablename")
    .from("pg_tables")
    .where("schemaname", "public")
    .whereNot("tablename", "like", "knex_%");
  if (rows.length === 0) return;
  await db.transaction(async (trx) => {
    // The audit trail refuses TRUNCATE except in a declared retention transaction (the append-only migration).
    await trx.raw("SET LOCAL stackyard.audit_retention = 'on'");
    await trx.raw(`TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(", ")} CASCADE`);
  });
}

/** A connection to this process's migrated, emptied test database. */
export async function createTestDb(): Promise<Db> {
  await ensureProcessDatabase();
  const db = createDb(testDatabaseUrl(), 5);
  await migrateLatest(db);
  await truncateAll(db);
  return db;
}

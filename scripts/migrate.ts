/** `make migrate`: applies pending migrations (or `down` to roll all back) on DATABASE_URL. */
import { createDb, migrateLatest, migrateRollbackAll } from "../services/_shared/db.js";
import { ConfigError } from "../services/_shared/config.js";

const url = process.env.DATABASE_URL;
if (!url) throw new ConfigError(["DATABASE_URL is missing"]);
const db = createDb(url, 2);
try {
  const direction = process.argv[2] ?? "up";
  const changed = direction === "down" ? await migrateRollbackAll(db) : await migrateLatest(db);
  console.error(`[stackyard] ${direction === "down" ? "reverted" : "applied"} ${changed.length} migration(s)`);
  for (const name of changed) console.error(`  ${name}`);
} finally {
  await db.destroy();
}

/** Drops each database named by the given Postgres URLs (used by `make reset`). */
import pg from "pg";

for (const url of new Set(process.argv.slice(2))) {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE)`);
    console.error(`[stackyard] dropped database ${name}`);
  } finally {
    await client.end();
  }
}

/** Creates each database named by the given Postgres URLs when it does not exist yet (idempotent). */
import pg from "pg";

for (const url of new Set(process.argv.slice(2))) {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ""));
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      console.error(`[stackyard] created database ${name}`);
    }
  } finally {
    await client.end();
  }
}

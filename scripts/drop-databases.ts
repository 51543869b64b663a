/**
 * Drops each database named by the given Postgres URLs, and for the test database also the per-process copies
 * (`<name>_p<pid>`) the test suites make (used by `make reset`).
 */
import pg from "pg";

for (const url of new Set(process.argv.slice(2))) {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const copies = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname = $1 OR datname ~ ('^' || $1 || '_p[0-9]+$')",
      [name],
    );
    for (const { datname } of copies.rows) {
      await client.query(`DROP DATABASE IF EXISTS "${datname.replace(/"/g, '""')}" WITH (FORCE)`);
      console.error(`[stackyard] dropped database ${datname}`);
    }
  } finally {
    await client.end();
  }
}

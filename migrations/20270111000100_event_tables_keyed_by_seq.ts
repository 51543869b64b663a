import type { Knex } from "knex";

/**
 * Deployment and build output rows are keyed by what identifies them, (deployment_id, seq) and (build_id, seq),
 * instead of a random uuid nothing reads: the uuid cost every inserted line a gen_random_uuid() and an insert at a
 * random place of a second index, about half of Postgres's time per row in the event writer (10,000 rows in one
 * statement: ~220 ms with it, ~100 ms without). The primary key takes the place of the unique constraint that made
 * inserts idempotent (`on conflict (…, seq)` works the same); dropping the column only touches the catalog.
 */
const TABLES = [
  { table: "deployment_events", owner: "deployment_id" },
  { table: "release_build_events", owner: "build_id" },
] as const;

export async function up(knex: Knex): Promise<void> {
  for (const { table, owner } of TABLES) {
    await knex.raw(`alter table ${table} drop constraint ${table}_pkey`);
    await knex.raw(`alter table ${table} drop column id`);
    await knex.raw(
      `alter table ${table} drop constraint ${table}_${owner}_seq_unique, add constraint ${table}_pkey primary key (${owner}, seq)`,
    );
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const { table, owner } of TABLES) {
    await knex.raw(`alter table ${table} drop constraint ${table}_pkey`);
    await knex.raw(`alter table ${table} add constraint ${table}_${owner}_seq_unique unique (${owner}, seq)`);
    await knex.raw(`alter table ${table} add column id uuid not null default gen_random_uuid() primary key`);
  }
}

import type { Knex } from "knex";

/**
 * Failed-login counters per email and per IP. Kept in Postgres, not in a bounded in-memory map, so flooding it
 * with other keys cannot evict an attacker's own counter, and every gateway instance sees the same state.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("login_throttle", (t) => {
    t.text("key").primary();
    t.integer("failures").notNullable();
    t.timestamp("window_started_at", { useTz: true }).notNullable();
    t.timestamp("locked_until", { useTz: true });
    t.check("failures > 0", [], "login_throttle_failures_positive");
  });
  await knex.schema.alterTable("login_throttle", (t) => t.index(["window_started_at"]));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("login_throttle");
}

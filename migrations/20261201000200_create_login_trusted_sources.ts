import type { Knex } from "knex";

/**
 * Addresses an account has logged in from successfully: a login from one of them skips the per-IP gate, so an
 * attacker flooding a shared NAT or proxy address cannot lock that office's known users out.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("login_trusted_sources", (t) => {
    t.uuid("user_id").notNullable().references("users.id").onDelete("CASCADE");
    t.text("ip").notNullable();
    t.timestamp("last_success_at", { useTz: true }).notNullable();
    t.primary(["user_id", "ip"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("login_trusted_sources");
}

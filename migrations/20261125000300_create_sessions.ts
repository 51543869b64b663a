import type { Knex } from "knex";

/** Refresh-token sessions: one row per issued refresh token; rotation chains rows of one family. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("sessions", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable();
    t.uuid("user_id").notNullable();
    t.uuid("family_id").notNullable();
    t.uuid("parent_id").references("sessions.id").onDelete("SET NULL");
    t.text("token_hash").notNullable().unique();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("expires_at", { useTz: true }).notNullable();
    t.timestamp("used_at", { useTz: true });
    t.timestamp("revoked_at", { useTz: true });
    t.text("ip");
    t.text("user_agent");
    t.foreign(["user_id", "org_id"]).references(["id", "org_id"]).inTable("users").onDelete("CASCADE");
    t.index(["family_id"]);
    t.index(["user_id"]);
    t.check("expires_at > created_at", [], "sessions_expiry_after_creation");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("sessions");
}

import type { Knex } from "knex";

/**
 * The second step of a login: a password that was right, for an account that needs a code (`purpose` login) or
 * must first enrol (`enroll`), gets a short-lived single-use challenge token; only its SHA-256 is kept.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("mfa_challenges", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable();
    t.uuid("user_id").notNullable();
    t.text("token_hash").notNullable().unique();
    t.text("purpose").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("expires_at", { useTz: true }).notNullable();
    t.timestamp("used_at", { useTz: true });
    t.foreign(["user_id", "org_id"]).references(["id", "org_id"]).inTable("users").onDelete("CASCADE");
    t.check("purpose in ('login', 'enroll')", [], "mfa_challenges_purpose");
    t.index(["expires_at"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("mfa_challenges");
}

import type { Knex } from "knex";

/** One-time recovery codes of a user's MFA: only their SHA-256 is kept (80 random bits each); `used_at` spends one. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("mfa_recovery_codes", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable();
    t.uuid("user_id").notNullable();
    t.text("code_hash").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("used_at", { useTz: true });
    t.foreign(["user_id", "org_id"]).references(["id", "org_id"]).inTable("users").onDelete("CASCADE");
    t.unique(["user_id", "code_hash"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("mfa_recovery_codes");
}

import type { Knex } from "knex";

/**
 * A user's TOTP factor: the secret encrypted at rest (AES-256-GCM under CONTROLPLANE_MASTER_KEY, bound to the org
 * and user), `confirmed_at` null while the enrolment awaits its first code, and the last time step a code was
 * accepted for, so a code is never accepted twice.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("user_mfa", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("user_id").notNullable().unique();
    t.uuid("org_id").notNullable();
    t.binary("ciphertext").notNullable();
    t.binary("nonce").notNullable();
    t.binary("auth_tag").notNullable();
    t.text("key_id").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("confirmed_at", { useTz: true });
    t.bigInteger("last_used_step");
    t.foreign(["user_id", "org_id"]).references(["id", "org_id"]).inTable("users").onDelete("CASCADE");
    t.index(["org_id"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("user_mfa");
}

import type { Knex } from "knex";

/**
 * Live credentials: the public keys browsers' short-lived nats.ws users were minted for, with the session, user or
 * API token they belong to, so a logout, a removed user or a revoked token revokes them on the NATS server too.
 * Rows matter only until they expire (the server refuses an expired JWT anyway) and are pruned after.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("live_credentials", (t) => {
    t.text("public_nkey").primary();
    t.uuid("org_id").notNullable().references("id").inTable("orgs").onDelete("CASCADE");
    t.uuid("user_id").notNullable();
    t.uuid("session_id");
    t.uuid("token_id");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("expires_at", { useTz: true }).notNullable();
    t.timestamp("revoked_at", { useTz: true });
    t.index(["session_id"]);
    t.index(["user_id"]);
    t.index(["token_id"]);
    t.index(["expires_at"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("live_credentials");
}

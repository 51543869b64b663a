import type { Knex } from "knex";

/**
 * Revoked agent keys that outlive their cluster. Deleting a cluster deletes its credential rows (cascade), yet its
 * agent's JWT stays valid until it expires: the key must stay in the account's revocation list until then. No
 * foreign key on purpose; rows are pruned by expiry in the revocation query itself.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("revoked_agent_keys", (t) => {
    t.text("public_nkey").primary();
    t.timestamp("revoked_at", { useTz: true }).notNullable();
    /** The latest expiry of any JWT issued for the key: until then the server must refuse it. */
    t.timestamp("expires_at", { useTz: true }).notNullable();
    t.check("public_nkey ~ '^U[A-Z2-7]{55}$'", [], "revoked_agent_keys_user_nkey");
    t.index(["expires_at"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("revoked_agent_keys");
}

import type { Knex } from "knex";

/**
 * The agent's X25519 public key that secret values are sealed to, per credential (a renewal carries it over; a
 * new registration brings a new one). Null for agents registered before sealing: deploys with secrets are refused.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("agent_credentials", (t) => {
    t.text("seal_public_key");
    t.check("seal_public_key IS NULL OR seal_public_key ~ '^[A-Za-z0-9_-]{43}$'", [], "agent_credentials_seal_key");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("agent_credentials", (t) => {
    t.dropChecks("agent_credentials_seal_key");
    t.dropColumn("seal_public_key");
  });
}

import type { Knex } from "knex";

/**
 * sha256 of a secret write's nonce, ciphertext and tag, taken when it was written: it names the Swarm secret of
 * that write (with the environment, the row and the version) without revealing the value, and stays the same when
 * a master-key rotation re-encrypts the row. Nullable until the backfill has run.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environment_secrets", (t) => {
    t.text("content_digest");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environment_secrets", (t) => {
    t.dropColumn("content_digest");
  });
}

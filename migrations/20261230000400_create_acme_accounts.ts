import type { Knex } from "knex";

/**
 * The control plane's ACME account per directory URL: its private key (AES-256-GCM under the master key) and the
 * account URL the directory gave it. Not tenant data: one account orders every org's certificates.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("acme_accounts", (t) => {
    t.text("directory_url").primary();
    t.binary("key_ciphertext").notNullable();
    t.binary("key_nonce").notNullable();
    t.binary("key_auth_tag").notNullable();
    t.text("key_id").notNullable();
    t.text("account_url");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("acme_accounts");
}

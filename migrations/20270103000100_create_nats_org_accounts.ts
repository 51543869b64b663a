import type { Knex } from "knex";

/**
 * The NATS account of each org (nats/org-accounts.ts): created when the org gets its first agent, integration or
 * live credential, pushed to the NATS full resolver whenever its imports or revocations change. The keys are
 * derived from the operator seed, so only the public key is recorded; `limits_json` overrides the default
 * per-account limits key by key (connections, leaf nodes, subscriptions, payload, data, JetStream storage).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("nats_org_accounts", (t) => {
    t.uuid("org_id").primary().references("id").inTable("orgs").onDelete("CASCADE");
    t.text("account_public_key").notNullable().unique();
    t.jsonb("limits_json").notNullable().defaultTo("{}");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("pushed_at", { useTz: true });
    t.check("account_public_key ~ '^A[A-Z2-7]{55}$'", [], "nats_org_accounts_account_nkey");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("nats_org_accounts");
}

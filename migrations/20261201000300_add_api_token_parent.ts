import type { Knex } from "knex";

/**
 * The token that minted a token (null when a user did): a token-minted token never outlives or out-scopes its
 * parent, and is revoked with it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("api_tokens", (t) => {
    t.uuid("parent_token_id").references("api_tokens.id").onDelete("CASCADE");
    t.index(["parent_token_id"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("api_tokens", (t) => {
    t.dropIndex(["parent_token_id"]);
    t.dropColumn("parent_token_id");
  });
}

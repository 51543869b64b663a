import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("api_tokens", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable().references("orgs.id").onDelete("CASCADE");
    t.uuid("created_by").notNullable();
    t.text("name").notNullable();
    t.text("token_prefix").notNullable().unique();
    t.text("token_hash").notNullable();
    t.specificType("scopes", "text[]").notNullable().defaultTo("{}");
    t.timestamp("expires_at", { useTz: true });
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("revoked_at", { useTz: true });
    t.timestamp("last_used_at", { useTz: true });
    t.foreign(["created_by", "org_id"]).references(["id", "org_id"]).inTable("users").onDelete("CASCADE");
    t.index(["org_id", "created_at"]);
    t.check("char_length(name) between 1 and 100", [], "api_tokens_name_length");
    t.check("token_prefix ~ '^[A-Za-z0-9]{8,32}$'", [], "api_tokens_prefix_format");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("api_tokens");
}

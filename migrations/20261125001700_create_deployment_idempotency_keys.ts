import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("deployment_idempotency_keys", (t) => {
    t.uuid("org_id").notNullable().references("orgs.id").onDelete("CASCADE");
    t.text("key").notNullable();
    t.text("request_hash").notNullable();
    t.uuid("deployment_id").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("expires_at", { useTz: true }).notNullable();
    t.primary(["org_id", "key"]);
    t.foreign(["deployment_id", "org_id"]).references(["id", "org_id"]).inTable("deployments").onDelete("CASCADE");
    t.index(["expires_at"]);
    t.check("char_length(key) between 1 and 255", [], "idempotency_key_length");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("deployment_idempotency_keys");
}

import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("orgs", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.text("name").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check("char_length(name) between 1 and 100", [], "orgs_name_length");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("orgs");
}

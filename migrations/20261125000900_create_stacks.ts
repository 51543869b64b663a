import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("stacks", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable().references("orgs.id").onDelete("CASCADE");
    t.text("name").notNullable();
    t.text("description").notNullable().defaultTo("");
    t.uuid("created_by");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(["org_id", "name"]);
    t.unique(["id", "org_id"]);
    // What `docker stack deploy` accepts as a stack (namespace) name.
    t.check("name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'", [], "stacks_name_format");
    t.check("char_length(description) <= 1000", [], "stacks_description_length");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("stacks");
}

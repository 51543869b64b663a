import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("stack_overlays", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable();
    t.uuid("environment_id").notNullable().unique();
    t.jsonb("env_json").notNullable().defaultTo("{}");
    t.jsonb("secrets_json_metadata").notNullable().defaultTo("{}");
    t.text("compose_patch_yaml").notNullable().defaultTo("");
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("updated_by");
    t.foreign(["environment_id", "org_id"]).references(["id", "org_id"]).inTable("environments").onDelete("CASCADE");
    t.check("jsonb_typeof(env_json) = 'object'", [], "stack_overlays_env_is_object");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("stack_overlays");
}

import type { Knex } from "knex";

/** A build's output, as deployment_events is a deployment's: idempotent on (build_id, seq), read in seq order. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("release_build_events", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable();
    t.uuid("build_id").notNullable();
    t.bigInteger("seq").notNullable();
    t.timestamp("ts", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text("level").notNullable();
    t.text("message").notNullable();
    t.jsonb("data_json").notNullable().defaultTo("{}");
    t.foreign(["build_id", "org_id"]).references(["id", "org_id"]).inTable("release_builds").onDelete("CASCADE");
    t.unique(["build_id", "seq"]);
    t.check("seq >= 0", [], "release_build_events_seq_non_negative");
    t.check("level in ('debug','info','warn','error')", [], "release_build_events_level_valid");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("release_build_events");
}

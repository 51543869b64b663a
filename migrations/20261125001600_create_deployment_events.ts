import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("deployment_events", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable();
    t.uuid("deployment_id").notNullable();
    /** Monotonic per deployment, assigned by the producer: (deployment_id, seq) makes persistence idempotent. */
    t.bigInteger("seq").notNullable();
    t.timestamp("ts", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text("level").notNullable();
    t.text("message").notNullable();
    t.jsonb("data_json").notNullable().defaultTo("{}");
    t.foreign(["deployment_id", "org_id"]).references(["id", "org_id"]).inTable("deployments").onDelete("CASCADE");
    t.unique(["deployment_id", "seq"]);
    t.check("seq >= 0", [], "deployment_events_seq_non_negative");
    t.check("level in ('debug','info','warn','error')", [], "deployment_events_level_valid");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("deployment_events");
}

import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("audit_events", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable().references("orgs.id").onDelete("CASCADE");
    t.text("actor_type").notNullable();
    t.text("actor_id");
    t.text("action").notNullable();
    t.text("target_type");
    t.text("target_id");
    t.timestamp("ts", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text("ip");
    t.text("user_agent");
    t.jsonb("data_json").notNullable().defaultTo("{}");
    t.check("actor_type in ('user','token','agent','system')", [], "audit_events_actor_type_valid");
  });
  // The audit page pages newest-first per org, optionally filtered by action or actor.
  await knex.raw("CREATE INDEX audit_events_org_ts ON audit_events (org_id, ts DESC, id DESC)");
  await knex.raw("CREATE INDEX audit_events_org_action_ts ON audit_events (org_id, action, ts DESC)");
  await knex.raw("CREATE INDEX audit_events_org_actor_ts ON audit_events (org_id, actor_id, ts DESC)");
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("audit_events");
}

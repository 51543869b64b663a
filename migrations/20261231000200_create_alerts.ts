import type { Knex } from "knex";

/**
 * Alerts (the history): one row per time a rule fired for one subject (a service, a node, a cluster, …), firing
 * until its condition ends, then resolved. At most one firing row per rule and subject. The rule's name, kind and
 * severity are copied so the history outlives a deleted rule. Acknowledge and silence are set by people.
 * `alert_conditions` holds the conditions seen but not yet held for the rule's window (pending).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("alerts", (t) => {
    t.uuid("id").primary();
    t.uuid("org_id").notNullable().references("id").inTable("orgs").onDelete("CASCADE");
    t.uuid("rule_id").references("id").inTable("alert_rules").onDelete("SET NULL");
    t.text("rule_name").notNullable();
    t.text("kind").notNullable();
    t.text("severity").notNullable();
    t.text("subject").notNullable();
    t.text("summary").notNullable();
    t.jsonb("details").notNullable().defaultTo("{}");
    t.text("status").notNullable().checkIn(["firing", "resolved"]);
    t.timestamp("since", { useTz: true }).notNullable();
    t.timestamp("fired_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("resolved_at", { useTz: true });
    t.timestamp("acknowledged_at", { useTz: true });
    t.text("acknowledged_by_type");
    t.uuid("acknowledged_by");
    t.timestamp("silenced_until", { useTz: true });
    t.uuid("silenced_by");
    t.index(["org_id", "fired_at"]);
    t.index(["rule_id", "subject", "fired_at"]);
  });
  await knex.raw("CREATE UNIQUE INDEX alerts_one_firing ON alerts (rule_id, subject) WHERE status = 'firing'");
  await knex.schema.createTable("alert_conditions", (t) => {
    t.uuid("rule_id").notNullable().references("id").inTable("alert_rules").onDelete("CASCADE");
    t.uuid("org_id").notNullable().references("id").inTable("orgs").onDelete("CASCADE");
    t.text("subject").notNullable();
    t.timestamp("since", { useTz: true }).notNullable();
    t.primary(["rule_id", "subject"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("alert_conditions");
  await knex.schema.dropTable("alerts");
}

import type { Knex } from "knex";

/**
 * Alert rules of an org: what to watch (`kind`, optionally narrowed to one cluster or environment), how long a
 * condition must hold before it fires (`window_seconds`), how long after an alert resolved the same rule stays
 * quiet for the same subject (`quiet_seconds`), and where it is sent: the org's notification endpoints and email
 * recipients. `next_eval_at` is the evaluators' claim: a replica takes a due rule with `FOR UPDATE SKIP LOCKED`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("alert_rules", (t) => {
    t.uuid("id").primary();
    t.uuid("org_id").notNullable().references("id").inTable("orgs").onDelete("CASCADE");
    t.text("name").notNullable();
    t.text("kind")
      .notNullable()
      .checkIn(
        [
          "deployment_failed",
          "drift_detected",
          "service_below_replicas",
          "task_restart_loop",
          "node_down",
          "cluster_offline",
          "certificate_expiring",
          "agent_refused_command",
        ],
        "alert_rules_kind_valid",
      );
    t.text("severity").notNullable().checkIn(["info", "warning", "critical"]);
    t.integer("window_seconds").notNullable().defaultTo(0);
    t.integer("quiet_seconds").notNullable().defaultTo(0);
    /** Restarts within the window (task_restart_loop), days before expiry (certificate_expiring); else null. */
    t.integer("threshold");
    t.uuid("cluster_id").references("id").inTable("clusters").onDelete("CASCADE");
    t.uuid("environment_id").references("id").inTable("environments").onDelete("CASCADE");
    t.specificType("endpoint_ids", "uuid[]").notNullable().defaultTo("{}");
    t.specificType("email_recipients", "text[]").notNullable().defaultTo("{}");
    t.boolean("enabled").notNullable().defaultTo(true);
    t.timestamp("next_eval_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text("created_by_type").notNullable();
    t.uuid("created_by");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(["org_id", "name"]);
    t.check("window_seconds >= 0 AND quiet_seconds >= 0", [], "alert_rules_durations_valid");
  });
  await knex.raw("CREATE INDEX alert_rules_due ON alert_rules (next_eval_at) WHERE enabled");
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("alert_rules");
}

import type { Knex } from "knex";

/**
 * Email of alerts over SMTP: one row per alert and transition (firing, resolved), sent with retries and a lease
 * (`FOR UPDATE SKIP LOCKED`) like webhook deliveries. Webhooks of alerts go through `notification_deliveries`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("alert_email_deliveries", (t) => {
    t.uuid("id").primary();
    t.uuid("org_id").notNullable().references("id").inTable("orgs").onDelete("CASCADE");
    t.uuid("alert_id").notNullable().references("id").inTable("alerts").onDelete("CASCADE");
    t.text("transition").notNullable().checkIn(["firing", "resolved"]);
    t.specificType("recipients", "text[]").notNullable();
    t.text("status").notNullable().checkIn(["pending", "delivered", "failed"]);
    t.integer("attempts").notNullable().defaultTo(0);
    t.timestamp("next_attempt_at", { useTz: true });
    t.timestamp("leased_until", { useTz: true });
    t.text("last_error");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("delivered_at", { useTz: true });
    t.unique(["alert_id", "transition"]);
  });
  await knex.raw(
    "CREATE INDEX alert_email_deliveries_due ON alert_email_deliveries (next_attempt_at) WHERE status = 'pending'",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("alert_email_deliveries");
}

import type { Knex } from "knex";

/**
 * Outbound notifications: an org's webhook endpoints, each with the event types it wants, a payload format and the
 * HMAC-SHA256 signing secret (AES-256-GCM under the master key, like every secret at rest: the control plane
 * must read it back to sign). Deliveries are one row per (endpoint, event) — the unique key makes a redelivered
 * event a no-op — retried with backoff; every attempt is kept with the receiver's answer (the delivery log).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("notification_endpoints", (t) => {
    t.uuid("id").primary();
    t.uuid("org_id").notNullable().references("id").inTable("orgs").onDelete("CASCADE");
    t.text("name").notNullable();
    t.text("url").notNullable();
    t.text("format").notNullable().checkIn(["json", "slack"]);
    t.specificType("event_types", "text[]").notNullable();
    t.boolean("enabled").notNullable().defaultTo(true);
    t.binary("ciphertext").notNullable();
    t.binary("nonce").notNullable();
    t.binary("auth_tag").notNullable();
    t.text("key_id").notNullable();
    t.text("created_by_type").notNullable();
    t.uuid("created_by");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(["org_id", "name"]);
  });
  await knex.schema.createTable("notification_deliveries", (t) => {
    t.uuid("id").primary();
    t.uuid("org_id").notNullable().references("id").inTable("orgs").onDelete("CASCADE");
    t.uuid("endpoint_id").notNullable().references("id").inTable("notification_endpoints").onDelete("CASCADE");
    t.uuid("event_id").notNullable();
    t.text("event_type").notNullable();
    t.jsonb("event").notNullable();
    t.text("status").notNullable().checkIn(["pending", "delivered", "failed"]);
    t.integer("attempts").notNullable().defaultTo(0);
    t.timestamp("next_attempt_at", { useTz: true });
    /** A dispatcher's claim: another replica skips the row until the lease ends (a crashed one's claim lapses). */
    t.timestamp("leased_until", { useTz: true });
    t.integer("last_status_code");
    t.text("last_error");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("delivered_at", { useTz: true });
    t.unique(["endpoint_id", "event_id"]);
    t.index(["endpoint_id", "created_at"]);
  });
  await knex.raw(
    "CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE status = 'pending'",
  );
  await knex.schema.createTable("notification_attempts", (t) => {
    t.bigIncrements("id").primary();
    t.uuid("delivery_id").notNullable().references("id").inTable("notification_deliveries").onDelete("CASCADE");
    t.integer("attempt").notNullable();
    t.integer("status_code");
    t.text("error");
    t.integer("duration_ms").notNullable();
    t.timestamp("at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(["delivery_id", "attempt"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("notification_attempts");
  await knex.schema.dropTable("notification_deliveries");
  await knex.schema.dropTable("notification_endpoints");
}

import type { Knex } from "knex";

/** Webhook delivery ids already accepted per source: a replayed delivery is answered and ignored. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("git_webhook_deliveries", (t) => {
    t.uuid("source_id").notNullable().references("git_sync_sources.id").onDelete("CASCADE");
    t.text("delivery_id").notNullable();
    t.timestamp("received_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(["source_id", "delivery_id"]);
    t.index(["received_at"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("git_webhook_deliveries");
}

import type { Knex } from "knex";

/** The last inventory an agent sent, kept whole (services, stacks) with its hash so unchanged ones are skipped. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("clusters", (t) => {
    t.jsonb("inventory_json");
    t.text("inventory_hash");
    t.timestamp("inventory_at", { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("clusters", (t) => {
    t.dropColumn("inventory_json");
    t.dropColumn("inventory_hash");
    t.dropColumn("inventory_at");
  });
}

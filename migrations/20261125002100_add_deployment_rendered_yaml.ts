import type { Knex } from "knex";

/**
 * What a deployment actually sent (the rendered compose, which holds secret references, never values), so
 * "diff against current" compares with what runs even after the overlay changed since.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("deployments", (t) => {
    t.text("rendered_yaml");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("deployments", (t) => {
    t.dropColumn("rendered_yaml");
  });
}

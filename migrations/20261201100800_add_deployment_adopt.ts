import type { Knex } from "knex";

/** The deploy request explicitly took over a Swarm stack whose services are not labelled as this environment's. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("deployments", (t) => {
    t.boolean("adopt").notNullable().defaultTo(false);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("deployments", (t) => {
    t.dropColumn("adopt");
  });
}

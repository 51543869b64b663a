import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environments", (t) => {
    t.text("swarm_stack").notNullable().alter();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environments", (t) => {
    t.text("swarm_stack").nullable().alter();
  });
}

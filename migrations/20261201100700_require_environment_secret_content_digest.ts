import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environment_secrets", (t) => {
    t.text("content_digest").notNullable().alter();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environment_secrets", (t) => {
    t.text("content_digest").nullable().alter();
  });
}

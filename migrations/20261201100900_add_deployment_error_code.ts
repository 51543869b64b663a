import type { Knex } from "knex";

/** The stable code of a failed deployment's error (e.g. SWARM_STACK_NOT_OWNED), next to its human message. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("deployments", (t) => {
    t.text("error_code");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("deployments", (t) => {
    t.dropColumn("error_code");
  });
}

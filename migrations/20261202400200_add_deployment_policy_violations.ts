import type { Knex } from "knex";

/** The compose-policy violations that refused a deployment at dispatch (rule, path, message), for the UI to list. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("deployments", (t) => {
    t.jsonb("policy_violations");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("deployments", (t) => {
    t.dropColumn("policy_violations");
  });
}

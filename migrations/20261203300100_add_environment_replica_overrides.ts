import type { Knex } from "knex";

/**
 * Replica counts set by scaling (service name → replicas): the environment's desired state, applied by every
 * later deploy's render on top of the release, so a redeploy keeps a scale instead of resetting it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environments", (t) => {
    t.jsonb("replica_overrides").notNullable().defaultTo("{}");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environments", (t) => {
    t.dropColumn("replica_overrides");
  });
}

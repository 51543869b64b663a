import type { Knex } from "knex";

/**
 * The Swarm stack an environment deploys into (`docker stack deploy … <swarm_stack>`), so two environments of one
 * stack on one cluster no longer share services, networks and secrets. Nullable until the backfill has run.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environments", (t) => {
    t.text("swarm_stack");
    t.check("swarm_stack ~ '^[a-z0-9][a-z0-9_-]{0,62}$'", [], "environments_swarm_stack_format");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environments", (t) => {
    t.dropChecks("environments_swarm_stack_format");
    t.dropColumn("swarm_stack");
  });
}

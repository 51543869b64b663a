import type { Knex } from "knex";

/**
 * What the control plane does when a deployment of the environment fails after it changed the swarm: `rollback`
 * (default) deploys the last successful deployment's release again; `pause` leaves the stack as it is.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environments", (t) => {
    t.text("on_failure").notNullable().defaultTo("rollback");
    t.check("on_failure in ('rollback', 'pause')", [], "environments_on_failure_check");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environments", (t) => {
    t.dropChecks("environments_on_failure_check");
    t.dropColumn("on_failure");
  });
}

import type { Knex } from "knex";

/** A Swarm stack name belongs to one environment per cluster: the database is what makes that hold under races. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environments", (t) => {
    t.unique(["cluster_id", "swarm_stack"], { indexName: "environments_cluster_swarm_stack_unique" });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environments", (t) => {
    t.dropUnique(["cluster_id", "swarm_stack"], "environments_cluster_swarm_stack_unique");
  });
}

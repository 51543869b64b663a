import type { Knex } from "knex";

/**
 * How `docker stack deploy` resolves the environment's image tags (`--resolve-image`): `always` asks the registry
 * for each tag's digest, `changed` only for changed services, `never` uses the tag as given (node-local images).
 * Existing environments keep `never`, what every deployment used before this was a setting; the API creates new
 * environments with `always`.
 * `cluster_changed_at`: when the environment last moved to another cluster (null: never); only deployments made
 * since then say whether something of it is deployed on its cluster now (a move needs nothing deployed).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environments", (t) => {
    t.text("image_resolution").notNullable().defaultTo("never");
    t.check("image_resolution in ('always', 'changed', 'never')", [], "environments_image_resolution_check");
    t.timestamp("cluster_changed_at", { useTz: true }).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environments", (t) => {
    t.dropChecks("environments_image_resolution_check");
    t.dropColumn("image_resolution");
    t.dropColumn("cluster_changed_at");
  });
}

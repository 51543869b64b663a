import type { Knex } from "knex";

/**
 * `link_down`: a leaf-mode cluster whose agent is silent while the hub holds no working link from its leaf (the site
 * may be up and buffering). Written by the clusters service's offline sweep (services/clusters/link-status.ts).
 * The down migration turns link-down clusters offline first: the old constraint does not know the state.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("clusters", (t) => t.dropChecks("clusters_status_valid"));
  await knex.schema.alterTable("clusters", (t) =>
    t.check("status in ('pending','online','degraded','offline','link_down','revoked')", [], "clusters_status_valid"),
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex("clusters").where({ status: "link_down" }).update({ status: "offline" });
  await knex.schema.alterTable("clusters", (t) => t.dropChecks("clusters_status_valid"));
  await knex.schema.alterTable("clusters", (t) =>
    t.check("status in ('pending','online','degraded','offline','revoked')", [], "clusters_status_valid"),
  );
}

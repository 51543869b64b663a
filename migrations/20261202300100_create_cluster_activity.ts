import type { Knex } from "knex";

/**
 * Cluster activity: the Docker events (service, task, node) each cluster's agent reported. Bounded per cluster by
 * the clusters service's retention job (row cap and max age); the bigserial id orders the feed and pages it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("cluster_activity", (t) => {
    t.bigIncrements("id").primary();
    t.uuid("org_id").notNullable();
    t.uuid("cluster_id").notNullable();
    /** When the agent saw the event (its clock). */
    t.timestamp("ts", { useTz: true }).notNullable();
    t.timestamp("received_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text("type").notNullable();
    t.text("action").notNullable();
    /** The Docker id of the service, task or node. */
    t.text("object_id").notNullable();
    t.text("name");
    t.foreign(["cluster_id", "org_id"]).references(["id", "org_id"]).inTable("clusters").onDelete("CASCADE");
    t.check("type in ('service','task','node')", [], "cluster_activity_type_valid");
    t.index(["cluster_id", "id"]);
    t.index(["received_at"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("cluster_activity");
}

import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("cluster_nodes", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable();
    t.uuid("cluster_id").notNullable();
    t.text("node_id").notNullable();
    t.text("hostname").notNullable();
    t.text("role").notNullable();
    t.text("availability").notNullable();
    t.text("status").notNullable();
    t.jsonb("labels_json").notNullable().defaultTo("{}");
    t.jsonb("resources_json").notNullable().defaultTo("{}");
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.foreign(["cluster_id", "org_id"]).references(["id", "org_id"]).inTable("clusters").onDelete("CASCADE");
    t.unique(["cluster_id", "node_id"]);
    t.check("role in ('manager','worker')", [], "cluster_nodes_role_valid");
    t.check("availability in ('active','pause','drain')", [], "cluster_nodes_availability_valid");
    t.check("status in ('unknown','down','ready','disconnected')", [], "cluster_nodes_status_valid");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("cluster_nodes");
}

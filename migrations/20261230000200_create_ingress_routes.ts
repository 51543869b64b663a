import type { Knex } from "knex";

/**
 * Routes of an environment through its cluster's ingress: host (+ path prefix) → compose service and port.
 * `ingress_hosts` is the one owner of a host name across all orgs (its primary key): a host one org routes is
 * refused to every other. Within a cluster a host belongs to one environment (checked under the cluster's
 * ingress lock); one (cluster, host, path prefix) is one route.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("ingress_hosts", (t) => {
    t.text("host").primary();
    t.uuid("org_id").notNullable().references("id").inTable("orgs").onDelete("CASCADE");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable("ingress_routes", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable();
    t.uuid("cluster_id").notNullable();
    t.uuid("environment_id").notNullable().references("id").inTable("environments").onDelete("CASCADE");
    t.text("host").notNullable();
    t.text("path_prefix").notNullable().defaultTo("/");
    t.text("service").notNullable();
    t.integer("port").notNullable();
    /** Serve the host over HTTPS with a certificate (ACME, or uploaded). */
    t.boolean("tls").notNullable().defaultTo(false);
    t.integer("position").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.foreign(["cluster_id", "org_id"]).references(["id", "org_id"]).inTable("clusters").onDelete("CASCADE");
    t.unique(["cluster_id", "host", "path_prefix"]);
    t.index(["environment_id", "position"]);
    t.check("port BETWEEN 1 AND 65535", [], "ingress_routes_port_valid");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("ingress_routes");
  await knex.schema.dropTable("ingress_hosts");
}

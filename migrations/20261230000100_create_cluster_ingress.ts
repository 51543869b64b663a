import type { Knex } from "knex";

/**
 * A cluster's managed ingress: the reverse proxy (nginx) Stackyard runs on it as one Swarm service, its image,
 * published ports and the overlay network environments' services join, the ACME directory its certificates come
 * from, and what was last applied (`revision` counts the rendered configurations, `applied_*` the last one the
 * agent rolled out).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("cluster_ingress", (t) => {
    t.uuid("cluster_id").primary();
    t.uuid("org_id").notNullable();
    t.text("image").notNullable();
    t.text("service_name").notNullable();
    t.text("network_name").notNullable();
    t.integer("http_port").notNullable();
    t.integer("https_port").notNullable();
    t.text("acme_directory_url");
    t.text("acme_email");
    t.integer("revision").notNullable().defaultTo(0);
    t.integer("applied_revision");
    t.text("applied_config_name");
    t.timestamp("applied_at", { useTz: true });
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.foreign(["cluster_id", "org_id"]).references(["id", "org_id"]).inTable("clusters").onDelete("CASCADE");
    t.check(
      "http_port BETWEEN 1 AND 65535 AND https_port BETWEEN 1 AND 65535 AND http_port <> https_port",
      [],
      "cluster_ingress_ports_valid",
    );
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("cluster_ingress");
}

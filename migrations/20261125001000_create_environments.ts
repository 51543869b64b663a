import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("environments", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable();
    t.uuid("stack_id").notNullable();
    t.text("name").notNullable();
    t.uuid("cluster_id").notNullable();
    t.integer("deploy_timeout_seconds").notNullable().defaultTo(600);
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.foreign(["stack_id", "org_id"]).references(["id", "org_id"]).inTable("stacks").onDelete("CASCADE");
    // An environment keeps its cluster: deleting a cluster that still hosts environments is refused.
    t.foreign(["cluster_id", "org_id"]).references(["id", "org_id"]).inTable("clusters").onDelete("RESTRICT");
    t.unique(["stack_id", "name"]);
    t.unique(["id", "org_id"]);
    t.index(["cluster_id"]);
    t.check("name ~ '^[a-z0-9][a-z0-9-]{0,62}$'", [], "environments_name_slug");
    t.check("deploy_timeout_seconds between 10 and 86400", [], "environments_timeout_range");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("environments");
}

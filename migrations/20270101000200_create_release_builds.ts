import type { Knex } from "knex";

/**
 * One build of a release from source: which environment's cluster built it and pushed to which registry, its
 * state (the deployment vocabulary: PENDING → RUNNING → SUCCEEDED / FAILED / CANCELED), why it failed (code,
 * service, failing step) and the pushed images (compose service → `<repository>@sha256:...`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("release_builds", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable();
    t.uuid("release_id").notNullable();
    t.uuid("environment_id").notNullable();
    t.uuid("cluster_id").notNullable();
    t.text("status").notNullable().defaultTo("PENDING");
    t.text("commit").notNullable();
    t.text("registry").notNullable();
    t.jsonb("images").nullable();
    t.text("error_message").nullable();
    t.text("error_code").nullable();
    t.text("failed_service").nullable();
    t.text("failed_step").nullable();
    t.uuid("created_by").nullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("started_at", { useTz: true }).nullable();
    t.timestamp("finished_at", { useTz: true }).nullable();
    t.foreign(["release_id", "org_id"]).references(["id", "org_id"]).inTable("stack_releases").onDelete("CASCADE");
    t.foreign(["environment_id", "org_id"]).references(["id", "org_id"]).inTable("environments").onDelete("CASCADE");
    t.unique(["release_id"]);
    t.unique(["id", "org_id"]);
    t.check("status in ('PENDING','RUNNING','SUCCEEDED','FAILED','CANCELED')", [], "release_builds_status_valid");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("release_builds");
}

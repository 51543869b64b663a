import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("deployments", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable();
    t.uuid("environment_id").notNullable();
    t.uuid("release_id").notNullable();
    t.text("kind").notNullable().defaultTo("deploy");
    t.text("status").notNullable().defaultTo("PENDING");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("started_at", { useTz: true });
    t.timestamp("finished_at", { useTz: true });
    t.text("created_by");
    t.text("created_by_type");
    t.text("error_message");
    t.foreign(["environment_id", "org_id"]).references(["id", "org_id"]).inTable("environments").onDelete("CASCADE");
    t.foreign(["release_id", "org_id"]).references(["id", "org_id"]).inTable("stack_releases").onDelete("RESTRICT");
    t.unique(["id", "org_id"]);
    t.index(["environment_id", "created_at"]);
    t.check("kind in ('deploy','rollback')", [], "deployments_kind_valid");
    t.check("status in ('PENDING','RUNNING','SUCCEEDED','FAILED','CANCELED')", [], "deployments_status_valid");
    t.check(
      "(status in ('SUCCEEDED','FAILED','CANCELED')) = (finished_at is not null)",
      [],
      "deployments_finished_iff_terminal",
    );
  });
  // The worker looks up the active deployment of an environment on every dispatch.
  await knex.raw(
    "CREATE INDEX deployments_active_by_environment ON deployments (environment_id, created_at) WHERE status IN ('PENDING','RUNNING')",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("deployments");
}

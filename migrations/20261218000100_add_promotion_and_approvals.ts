import type { Knex } from "knex";

/**
 * Promotion and approvals (#20 item 4). An environment's place in its stack's promotion pipeline (dev → staging →
 * prod: ascending `pipeline_position`, null = not in the pipeline) and whether deployments to it wait for an
 * approval by a user of a named role. A deployment may be a promotion (`promoted_from_deployment_id`: the source
 * environment's deployment whose release it deploys), may wait in AWAITING_APPROVAL, and may end REJECTED.
 */
const OLD_STATUSES = "('PENDING','RUNNING','SUCCEEDED','FAILED','CANCELED')";
const NEW_STATUSES = "('AWAITING_APPROVAL','PENDING','RUNNING','SUCCEEDED','FAILED','CANCELED','REJECTED')";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environments", (t) => {
    t.integer("pipeline_position");
    t.boolean("approval_required").notNullable().defaultTo(false);
    t.text("approval_role").notNullable().defaultTo("APP_ADMIN");
    t.check("approval_role in ('ORG_ADMIN','CLUSTER_ADMIN','APP_ADMIN')", [], "environments_approval_role_valid");
    t.check("pipeline_position is null or pipeline_position >= 0", [], "environments_pipeline_position_valid");
  });
  // Two environments of a stack never share a place in its pipeline.
  await knex.raw(
    "CREATE UNIQUE INDEX environments_pipeline_position_unique ON environments (stack_id, pipeline_position) WHERE pipeline_position IS NOT NULL",
  );
  await knex.schema.alterTable("deployments", (t) => {
    t.uuid("promoted_from_deployment_id");
    t.foreign(["promoted_from_deployment_id", "org_id"])
      .references(["id", "org_id"])
      .inTable("deployments")
      .onDelete("SET NULL");
    t.timestamp("approval_decided_at", { useTz: true });
    t.text("approval_decided_by");
    t.text("approval_decision");
    t.text("approval_comment");
    t.check(
      "approval_decision is null or approval_decision in ('approved','rejected')",
      [],
      "deployments_approval_decision_valid",
    );
  });
  await knex.raw("ALTER TABLE deployments DROP CONSTRAINT deployments_status_valid");
  await knex.raw("ALTER TABLE deployments DROP CONSTRAINT deployments_finished_iff_terminal");
  await knex.raw(`ALTER TABLE deployments ADD CONSTRAINT deployments_status_valid CHECK (status in ${NEW_STATUSES})`);
  await knex.raw(
    "ALTER TABLE deployments ADD CONSTRAINT deployments_finished_iff_terminal CHECK ((status in ('SUCCEEDED','FAILED','CANCELED','REJECTED')) = (finished_at is not null))",
  );
  // The pending approvals of an org are listed often (the UI's badge).
  await knex.raw(
    "CREATE INDEX deployments_awaiting_approval ON deployments (org_id, created_at) WHERE status = 'AWAITING_APPROVAL'",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw("DROP INDEX IF EXISTS deployments_awaiting_approval");
  await knex("deployments").whereIn("status", ["AWAITING_APPROVAL", "REJECTED"]).delete();
  await knex.raw("ALTER TABLE deployments DROP CONSTRAINT deployments_status_valid");
  await knex.raw("ALTER TABLE deployments DROP CONSTRAINT deployments_finished_iff_terminal");
  await knex.raw(`ALTER TABLE deployments ADD CONSTRAINT deployments_status_valid CHECK (status in ${OLD_STATUSES})`);
  await knex.raw(
    "ALTER TABLE deployments ADD CONSTRAINT deployments_finished_iff_terminal CHECK ((status in ('SUCCEEDED','FAILED','CANCELED')) = (finished_at is not null))",
  );
  await knex.schema.alterTable("deployments", (t) => {
    t.dropChecks(["deployments_approval_decision_valid"]);
    t.dropForeign(["promoted_from_deployment_id", "org_id"]);
    t.dropColumns(
      "promoted_from_deployment_id",
      "approval_decided_at",
      "approval_decided_by",
      "approval_decision",
      "approval_comment",
    );
  });
  await knex.raw("DROP INDEX IF EXISTS environments_pipeline_position_unique");
  await knex.schema.alterTable("environments", (t) => {
    t.dropChecks(["environments_approval_role_valid", "environments_pipeline_position_valid"]);
    t.dropColumns("pipeline_position", "approval_required", "approval_role");
  });
}

import type { Knex } from "knex";

/**
 * The environment's sync policy: `manual` (default) or `automatic` from a git source of its stack; and the pin
 * that pauses automatic sync (set by a user, or by a manual rollback of an automatic environment).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environments", (t) => {
    t.text("sync_mode").notNullable().defaultTo("manual");
    t.uuid("sync_source_id").references("git_sync_sources.id").onDelete("SET NULL");
    t.timestamp("pinned_at", { useTz: true });
    t.text("pinned_reason");
    t.text("pinned_by");
    t.check("sync_mode in ('manual', 'automatic')", [], "environments_sync_mode_check");
    t.check("sync_mode = 'manual' or sync_source_id is not null", [], "environments_sync_source_required");
    t.check("(pinned_at is null) = (pinned_reason is null)", [], "environments_pin_shape");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("environments", (t) => {
    t.dropChecks(["environments_sync_mode_check", "environments_sync_source_required", "environments_pin_shape"]);
    t.dropColumns("sync_mode", "sync_source_id", "pinned_at", "pinned_reason", "pinned_by");
  });
}

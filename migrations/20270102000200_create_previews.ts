import type { Knex } from "knex";

/**
 * One preview environment per open pull request: its environment (`pr-<number>`, null once destroyed), the
 * pull request's branch and head commit, the last deployment, the status and URL posted back to the forge,
 * and `last_activity_at`, which the reaper compares with the stack's TTL. A destroyed preview keeps its row
 * (`destroyed_at`, `destroy_reason`) for the list; only one live preview per pull request (partial unique index).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("previews", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable().references("orgs.id").onDelete("CASCADE");
    t.uuid("stack_id").notNullable().references("stacks.id").onDelete("CASCADE");
    t.uuid("environment_id").references("environments.id").onDelete("SET NULL");
    t.integer("pr_number").notNullable();
    t.text("title").notNullable().defaultTo("");
    t.text("branch").notNullable();
    t.text("head_commit").notNullable();
    t.uuid("release_id").references("stack_releases.id").onDelete("SET NULL");
    t.uuid("deployment_id").references("deployments.id").onDelete("SET NULL");
    t.text("status").notNullable();
    t.text("url");
    t.text("error_code");
    t.text("error_message");
    t.timestamp("last_activity_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("destroyed_at", { useTz: true });
    t.text("destroy_reason");
    t.check("status in ('deploying', 'running', 'failed', 'destroying', 'destroyed')", [], "previews_status_known");
    t.check("pr_number > 0", [], "previews_pr_number_positive");
    t.index(["org_id", "stack_id"]);
    t.index(["last_activity_at"]);
  });
  await knex.raw(
    "create unique index previews_one_live_per_pr on previews (stack_id, pr_number) where destroyed_at is null",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("previews");
}

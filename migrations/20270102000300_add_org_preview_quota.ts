import type { Knex } from "knex";

/** The most live preview environments an org may have at once; null: the control plane's default (config). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("orgs", (t) => {
    t.integer("preview_quota");
    t.check("preview_quota is null or preview_quota >= 0", [], "orgs_preview_quota_non_negative");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("orgs", (t) => {
    t.dropChecks(["orgs_preview_quota_non_negative"]);
    t.dropColumn("preview_quota");
  });
}

import type { Knex } from "knex";

/** The org's MFA policy: who must have a second factor to log in (`none`, `admins` = ORG_ADMIN, `all`). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("orgs", (t) => {
    t.text("mfa_required_for").notNullable().defaultTo("none");
    t.check("mfa_required_for in ('none', 'admins', 'all')", [], "orgs_mfa_required_for");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("orgs", (t) => {
    t.dropChecks(["orgs_mfa_required_for"]);
    t.dropColumn("mfa_required_for");
  });
}

import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("users", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable().references("orgs.id").onDelete("CASCADE");
    t.text("email").notNullable();
    t.text("password_hash").notNullable();
    t.text("role").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("last_login_at", { useTz: true });
    t.unique(["id", "org_id"]);
    t.check("role in ('ORG_ADMIN','CLUSTER_ADMIN','APP_ADMIN','VIEWER')", [], "users_role_valid");
    t.check("email = lower(email) and email like '%_@_%'", [], "users_email_normalised");
  });
  // One account per email in an org; the same email may belong to several orgs (org switcher).
  await knex.schema.alterTable("users", (t) => t.unique(["org_id", "email"]));
  await knex.schema.alterTable("users", (t) => t.index(["email"]));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("users");
}

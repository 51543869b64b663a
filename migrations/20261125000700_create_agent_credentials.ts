import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("agent_credentials", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable();
    t.uuid("cluster_id").notNullable();
    t.text("public_nkey").notNullable();
    t.text("jwt_id").notNullable().unique();
    t.timestamp("issued_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("expires_at", { useTz: true }).notNullable();
    t.timestamp("revoked_at", { useTz: true });
    t.foreign(["cluster_id", "org_id"]).references(["id", "org_id"]).inTable("clusters").onDelete("CASCADE");
    t.index(["cluster_id"]);
    t.index(["public_nkey"]);
    t.check("public_nkey ~ '^U[A-Z2-7]{55}$'", [], "agent_credentials_user_nkey");
    t.check("expires_at > issued_at", [], "agent_credentials_expiry_after_issue");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("agent_credentials");
}

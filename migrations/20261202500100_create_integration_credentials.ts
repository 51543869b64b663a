import type { Knex } from "knex";

/**
 * Integration credentials: NATS users (NKey + user JWT) that may only subscribe to their org's event subjects.
 * Only the public key and the JWT's id are kept: the seed leaves the control plane once, in the create response.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("integration_credentials", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable().references("id").inTable("orgs").onDelete("CASCADE");
    t.text("name").notNullable();
    t.text("public_nkey").notNullable().unique();
    t.text("jwt_id").notNullable();
    t.text("created_by_type").notNullable();
    t.uuid("created_by");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("expires_at", { useTz: true });
    t.timestamp("revoked_at", { useTz: true });
    t.check("length(name) between 1 and 100", [], "integration_credentials_name_length");
    t.index(["org_id", "created_at"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("integration_credentials");
}

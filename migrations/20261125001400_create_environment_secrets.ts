import type { Knex } from "knex";

/** Secret values exist here only as AES-256-GCM ciphertext; the key id allows master-key rotation. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("environment_secrets", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable();
    t.uuid("environment_id").notNullable();
    t.text("name").notNullable();
    t.integer("version").notNullable().defaultTo(1);
    t.binary("ciphertext").notNullable();
    t.binary("nonce").notNullable();
    t.binary("auth_tag").notNullable();
    t.text("key_id").notNullable();
    t.specificType("services", "text[]").notNullable().defaultTo("{}");
    t.jsonb("metadata_json").notNullable().defaultTo("{}");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("updated_by");
    t.foreign(["environment_id", "org_id"]).references(["id", "org_id"]).inTable("environments").onDelete("CASCADE");
    t.unique(["environment_id", "name"]);
    t.check("name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'", [], "environment_secrets_name_format");
    t.check("version > 0", [], "environment_secrets_version_positive");
    t.check("octet_length(nonce) = 12 and octet_length(auth_tag) = 16", [], "environment_secrets_gcm_shape");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("environment_secrets");
}

import type { Knex } from "knex";

/**
 * Container-registry credentials of an org (the password/token only as AES-256-GCM ciphertext under the master
 * key, like environment secrets) and which environments use them: several per environment, at most one per
 * registry host, so the agent knows which one answers a given image.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("registry_credentials", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable().references("id").inTable("orgs").onDelete("CASCADE");
    t.text("name").notNullable();
    /** host[:port] as images name it (`registry.example.com`, `127.0.0.1:5000`); `docker.io` for Docker Hub. */
    t.text("registry").notNullable();
    t.text("username").notNullable();
    t.integer("version").notNullable().defaultTo(1);
    t.binary("ciphertext").notNullable();
    t.binary("nonce").notNullable();
    t.binary("auth_tag").notNullable();
    t.text("key_id").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("updated_by");
    t.unique(["id", "org_id"]);
    t.unique(["org_id", "name"]);
    t.check("name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'", [], "registry_credentials_name_format");
    // `{0,1}`, not `?`: knex reads a `?` as a binding.
    t.check(
      "registry ~ '^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9]){0,1}(:[0-9]{1,5}){0,1}$'",
      [],
      "registry_credentials_host",
    );
    t.check("version > 0", [], "registry_credentials_version_positive");
    t.check("octet_length(nonce) = 12 and octet_length(auth_tag) = 16", [], "registry_credentials_gcm_shape");
  });
  await knex.schema.createTable("environment_registry_credentials", (t) => {
    t.uuid("org_id").notNullable();
    t.uuid("environment_id").notNullable();
    t.uuid("credential_id").notNullable();
    t.text("registry").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(["environment_id", "credential_id"]);
    t.foreign(["environment_id", "org_id"]).references(["id", "org_id"]).inTable("environments").onDelete("CASCADE");
    t.foreign(["credential_id", "org_id"])
      .references(["id", "org_id"])
      .inTable("registry_credentials")
      .onDelete("CASCADE");
    // One credential per registry host and environment (the registry of a credential never changes).
    t.unique(["environment_id", "registry"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("environment_registry_credentials");
  await knex.schema.dropTable("registry_credentials");
}

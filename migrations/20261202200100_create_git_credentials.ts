import type { Knex } from "knex";

/**
 * Per-org git credentials: an SSH deploy key made by the control plane (only the public key in clear; the private
 * seed as AES-256-GCM ciphertext) or an HTTPS token (ciphertext only). `known_hosts` is the credential's own
 * OpenSSH known_hosts file: git over SSH trusts exactly these host keys.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("git_credentials", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable().references("orgs.id").onDelete("CASCADE");
    t.text("name").notNullable();
    t.text("kind").notNullable();
    t.text("public_key");
    t.text("key_fingerprint");
    t.text("username");
    t.binary("ciphertext").notNullable();
    t.binary("nonce").notNullable();
    t.binary("auth_tag").notNullable();
    t.text("key_id").notNullable();
    t.text("known_hosts").notNullable().defaultTo("");
    t.uuid("created_by");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(["org_id", "name"]);
    t.check("name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'", [], "git_credentials_name_format");
    t.check(
      "(kind = 'ssh' and public_key is not null and key_fingerprint is not null and username is null) or " +
        "(kind = 'https' and public_key is null and key_fingerprint is null and username is not null)",
      [],
      "git_credentials_kind_shape",
    );
    t.check("octet_length(nonce) = 12 and octet_length(auth_tag) = 16", [], "git_credentials_gcm_shape");
    t.check("octet_length(known_hosts) <= 65536", [], "git_credentials_known_hosts_size");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("git_credentials");
}

import type { Knex } from "knex";

/**
 * Preview environments of a stack (one row per stack that has them): the git sync source whose webhook carries
 * its pull requests, the template environment a preview copies (cluster, overlay, the secrets named in
 * `copy_secrets`), resource limits set on every service of a preview, the idle TTL, and the forge the status
 * is posted back to. The forge token is AES-256-GCM under the master key (`token_*`, like git credentials), or
 * null when nothing is posted back.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("preview_settings", (t) => {
    t.uuid("stack_id").primary().references("stacks.id").onDelete("CASCADE");
    t.uuid("org_id").notNullable().references("orgs.id").onDelete("CASCADE");
    t.boolean("enabled").notNullable().defaultTo(true);
    t.uuid("source_id").notNullable().references("git_sync_sources.id").onDelete("CASCADE");
    t.uuid("template_environment_id").notNullable().references("environments.id").onDelete("CASCADE");
    t.specificType("copy_secrets", "text[]").notNullable().defaultTo("{}");
    t.text("cpu_limit");
    t.text("memory_limit");
    t.integer("ttl_seconds").notNullable();
    t.text("url_host").notNullable().defaultTo("localhost");
    t.text("forge_kind");
    t.text("forge_api_url");
    t.text("forge_repo");
    t.binary("token_ciphertext");
    t.binary("token_nonce");
    t.binary("token_auth_tag");
    t.text("token_key_id");
    t.uuid("updated_by");
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check("ttl_seconds between 60 and 2592000", [], "preview_settings_ttl_range");
    t.check("forge_kind is null or forge_kind in ('github', 'gitlab', 'gitea')", [], "preview_settings_forge_kind");
    t.check(
      "(token_ciphertext is null) = (token_key_id is null) and (token_nonce is null or octet_length(token_nonce) = 12)",
      [],
      "preview_settings_token_shape",
    );
    t.index(["source_id"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("preview_settings");
}

import type { Knex } from "knex";

/**
 * A git source a stack's environments can follow automatically: repository, branch or tag, the compose file's
 * path, the org's git credential, the poll interval and the webhook secret (`ciphertext`, `nonce`, `auth_tag`, `key_id`: AES-256-GCM under the master key, as
 * git credentials, rotated with them: HMAC verification needs the value itself). `last_*` is what the poller saw: the commit, the
 * tree id of the watched directory and the release made from it. `next_poll_at` is the lease: the poller moves it
 * forward in the statement that claims the row (`FOR UPDATE SKIP LOCKED`), so one replica polls a source at a time.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("git_sync_sources", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable().references("orgs.id").onDelete("CASCADE");
    t.uuid("stack_id").notNullable().references("stacks.id").onDelete("CASCADE");
    t.text("repo_url").notNullable();
    t.text("ref").notNullable();
    t.text("path").notNullable();
    t.uuid("credential_id").references("git_credentials.id").onDelete("RESTRICT");
    t.integer("poll_interval_seconds").notNullable();
    t.binary("ciphertext").notNullable();
    t.binary("nonce").notNullable();
    t.binary("auth_tag").notNullable();
    t.text("key_id").notNullable();
    t.text("last_commit");
    t.text("last_tree_id");
    t.uuid("last_release_id").references("stack_releases.id").onDelete("SET NULL");
    t.timestamp("last_checked_at", { useTz: true });
    t.text("last_error_code");
    t.text("last_error_message");
    t.timestamp("next_poll_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.check("poll_interval_seconds between 5 and 86400", [], "git_sync_sources_poll_interval_range");
    t.check("octet_length(nonce) = 12 and octet_length(auth_tag) = 16", [], "git_sync_sources_gcm_shape");
    t.index(["next_poll_at"]);
    t.index(["org_id", "stack_id"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("git_sync_sources");
}

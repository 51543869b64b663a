import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("stack_releases", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable();
    t.uuid("stack_id").notNullable();
    t.integer("version").notNullable();
    t.text("source_type").notNullable();
    t.text("source_ref");
    t.text("compose_yaml").notNullable();
    t.text("compose_sha256").notNullable();
    t.jsonb("warnings_json").notNullable().defaultTo("[]");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.uuid("created_by");
    t.foreign(["stack_id", "org_id"]).references(["id", "org_id"]).inTable("stacks").onDelete("CASCADE");
    t.unique(["stack_id", "version"]);
    t.unique(["id", "org_id"]);
    t.check("version > 0", [], "stack_releases_version_positive");
    t.check("source_type in ('upload','git')", [], "stack_releases_source_type_valid");
    t.check("source_type = 'upload' or source_ref is not null", [], "stack_releases_git_has_ref");
    t.check("compose_sha256 ~ '^[0-9a-f]{64}$'", [], "stack_releases_sha256_format");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("stack_releases");
}

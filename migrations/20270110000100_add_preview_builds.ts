import type { Knex } from "knex";

/**
 * A preview whose head commit has services with `build:` waits `building` for the build of its release
 * (`build_id`) before anything deploys; the build's end deploys it or fails it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw("alter table previews drop constraint previews_status_known");
  await knex.raw(
    "alter table previews add constraint previews_status_known check (status in ('building', 'deploying', 'running', 'failed', 'destroying', 'destroyed'))",
  );
  await knex.schema.alterTable("previews", (t) => {
    t.uuid("build_id").references("release_builds.id").onDelete("SET NULL");
    t.index(["build_id"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("previews", (t) => {
    t.dropColumn("build_id");
  });
  await knex.raw("update previews set status = 'failed' where status = 'building'");
  await knex.raw("alter table previews drop constraint previews_status_known");
  await knex.raw(
    "alter table previews add constraint previews_status_known check (status in ('deploying', 'running', 'failed', 'destroying', 'destroyed'))",
  );
}

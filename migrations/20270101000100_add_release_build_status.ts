import type { Knex } from "knex";

/**
 * A release built from source: `build_status` is null for a release whose images exist already (it is ready as
 * uploaded), else `building` → `ready` | `failed` | `canceled`. `source_compose_yaml` keeps the compose file as the
 * commit has it (with `build:`); `compose_yaml` becomes, once, the frozen compose with every built service's
 * `image: <repository>@sha256:<digest>`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("stack_releases", (t) => {
    t.text("build_status").nullable();
    t.text("source_compose_yaml").nullable();
    t.check(
      "build_status is null or build_status in ('building','ready','failed','canceled')",
      [],
      "stack_releases_build_status_valid",
    );
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("stack_releases", (t) => {
    t.dropChecks(["stack_releases_build_status_valid"]);
    t.dropColumn("build_status");
    t.dropColumn("source_compose_yaml");
  });
}

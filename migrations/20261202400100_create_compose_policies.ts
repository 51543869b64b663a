import type { Knex } from "knex";

/**
 * Compose policies: one row per org (cluster_id null) and at most one override per cluster. `rules_json` maps
 * optional rule ids to on/off (the org row holds every rule; an override only the ones it changes);
 * `bind_allow_list` is the list of allowed bind-mount source prefixes (null in an override: the org's list).
 * No row for an org means the defaults (every optional rule on, an empty allow-list).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("compose_policies", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable().references("orgs.id").onDelete("CASCADE");
    t.uuid("cluster_id");
    t.jsonb("rules_json").notNullable().defaultTo("{}");
    t.jsonb("bind_allow_list");
    t.uuid("updated_by");
    t.timestamp("updated_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.foreign(["cluster_id", "org_id"]).references(["id", "org_id"]).inTable("clusters").onDelete("CASCADE");
    t.check("jsonb_typeof(rules_json) = 'object'", [], "compose_policies_rules_object");
    t.check(
      "bind_allow_list is null or jsonb_typeof(bind_allow_list) = 'array'",
      [],
      "compose_policies_allow_list_array",
    );
    t.check("cluster_id is not null or bind_allow_list is not null", [], "compose_policies_org_allow_list");
    t.unique(["cluster_id"]);
  });
  await knex.raw(
    "create unique index compose_policies_one_per_org on compose_policies (org_id) where cluster_id is null",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("compose_policies");
}

import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("clusters", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable().references("orgs.id").onDelete("CASCADE");
    t.text("name").notNullable();
    /** The registered agent's public NKey; null until an agent registers. */
    t.text("agent_id");
    t.text("status").notNullable().defaultTo("pending");
    t.timestamp("last_seen_at", { useTz: true });
    t.jsonb("facts_json").notNullable().defaultTo("{}");
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(["org_id", "name"]);
    t.unique(["id", "org_id"]);
    t.check("status in ('pending','online','degraded','offline','revoked')", [], "clusters_status_valid");
    t.check("name ~ '^[a-z0-9][a-z0-9-]{0,62}$'", [], "clusters_name_format");
  });
  // Offline detection scans by last_seen_at instead of keeping one timer per agent.
  await knex.schema.alterTable("clusters", (t) => t.index(["last_seen_at"]));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("clusters");
}

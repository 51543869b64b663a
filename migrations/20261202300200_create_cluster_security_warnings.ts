import type { Knex } from "knex";

/**
 * Security warnings of a cluster: commands its agent refused before running them (bad signature, wrong cluster,
 * replay, ...), which may be an attack. One open warning per cluster and refusal code counts its repeats, so a
 * flood of refusals is one row; acknowledging closes it, and the next refusal opens a new one.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("cluster_security_warnings", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable();
    t.uuid("cluster_id").notNullable();
    t.text("code").notNullable();
    /** The latest refusal's reason, type, command id and subject, as the agent reported them. */
    t.text("reason").notNullable();
    t.text("command_type");
    t.text("command_id");
    t.text("subject").notNullable();
    t.integer("count").notNullable().defaultTo(1);
    t.timestamp("first_seen_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("last_seen_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("acknowledged_at", { useTz: true });
    t.text("acknowledged_by_type");
    t.uuid("acknowledged_by");
    t.foreign(["cluster_id", "org_id"]).references(["id", "org_id"]).inTable("clusters").onDelete("CASCADE");
    t.check("count >= 1", [], "cluster_security_warnings_count_positive");
    t.index(["cluster_id", "last_seen_at"]);
  });
  await knex.raw(
    "CREATE UNIQUE INDEX cluster_security_warnings_one_open_per_code ON cluster_security_warnings (cluster_id, code) WHERE acknowledged_at IS NULL",
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("cluster_security_warnings");
}

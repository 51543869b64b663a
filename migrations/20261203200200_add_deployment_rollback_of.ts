import type { Knex } from "knex";

/**
 * The failed deployment an automatic rollback (the environment's failure policy) was created for; null for
 * every deployment a caller asked for. One automatic rollback per failed deployment.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("deployments", (t) => {
    t.uuid("rollback_of").nullable().references("id").inTable("deployments").onDelete("SET NULL");
    t.unique(["rollback_of"], { indexName: "deployments_rollback_of_unique" });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("deployments", (t) => {
    t.dropUnique(["rollback_of"], "deployments_rollback_of_unique");
    t.dropColumn("rollback_of");
  });
}

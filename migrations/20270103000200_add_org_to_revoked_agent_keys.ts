import type { Knex } from "knex";

/**
 * The org a revoked agent key belonged to, so the revocation also goes into that org's NATS account (agents are
 * users of their org's account). Null for keys revoked before org accounts: those were only ever users of the
 * shared application account, whose revocation list keeps every key.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("revoked_agent_keys", (t) => {
    t.uuid("org_id");
    t.index(["org_id"]);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("revoked_agent_keys", (t) => {
    t.dropIndex(["org_id"]);
    t.dropColumn("org_id");
  });
}

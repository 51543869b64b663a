import type { Knex } from "knex";

/**
 * A public NKey belongs to one cluster: otherwise an admin could register a victim's (public) key to a cluster of
 * their own and revoke it, and the revocation, per key and installation-wide, would cut off the victim's agent.
 * An exclusion constraint lets the rows of one key (registration, then renewals) share only one cluster_id.
 * btree_gist (a trusted contrib extension) provides the gist operator classes for text and uuid.
 */
export const CONSTRAINT = "agent_credentials_public_nkey_one_cluster";

export async function up(knex: Knex): Promise<void> {
  const shared = await knex("agent_credentials")
    .select("public_nkey")
    .groupBy("public_nkey")
    .havingRaw("count(distinct cluster_id) > 1")
    .limit(10);
  if (shared.length > 0) {
    throw new Error(
      `agent_credentials: these public keys are registered to several clusters: ${shared
        .map((r: { public_nkey: string }) => r.public_nkey)
        .join(", ")}. Delete the clusters that should not hold them (or their agent_credentials rows), then migrate.`,
    );
  }
  await knex.raw("CREATE EXTENSION IF NOT EXISTS btree_gist");
  await knex.raw(
    `ALTER TABLE agent_credentials ADD CONSTRAINT ${CONSTRAINT} EXCLUDE USING gist (public_nkey WITH =, cluster_id WITH <>)`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`ALTER TABLE agent_credentials DROP CONSTRAINT ${CONSTRAINT}`);
  // Nothing else in the schema uses it (RESTRICT: this fails rather than drop something that does).
  await knex.raw("DROP EXTENSION IF EXISTS btree_gist RESTRICT");
}

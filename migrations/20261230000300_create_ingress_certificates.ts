import type { Knex } from "knex";

/**
 * TLS certificates of a cluster's ingress, one current per host (issued by ACME or uploaded); a renewal or a new
 * upload marks the previous one replaced. The private key is AES-256-GCM under the master key, like every secret
 * at rest; the certificate chain is public. `ingress_acme_challenges` holds the HTTP-01 answers the proxy serves
 * while an order is open.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable("ingress_certificates", (t) => {
    t.uuid("id").primary().defaultTo(knex.raw("gen_random_uuid()"));
    t.uuid("org_id").notNullable();
    t.uuid("cluster_id").notNullable();
    t.text("host").notNullable();
    t.text("source").notNullable().checkIn(["acme", "upload"]);
    t.text("certificate_pem").notNullable();
    t.binary("key_ciphertext").notNullable();
    t.binary("key_nonce").notNullable();
    t.binary("key_auth_tag").notNullable();
    t.text("key_id").notNullable();
    t.text("serial").notNullable();
    t.text("issuer").notNullable();
    t.timestamp("not_before", { useTz: true }).notNullable();
    t.timestamp("not_after", { useTz: true }).notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp("replaced_at", { useTz: true });
    t.foreign(["cluster_id", "org_id"]).references(["id", "org_id"]).inTable("clusters").onDelete("CASCADE");
    t.index(["cluster_id", "host"]);
  });
  await knex.raw(
    "CREATE UNIQUE INDEX ingress_certificates_one_current ON ingress_certificates (cluster_id, host) WHERE replaced_at IS NULL",
  );
  await knex.schema.createTable("ingress_acme_challenges", (t) => {
    t.text("token").primary();
    t.uuid("org_id").notNullable();
    t.uuid("cluster_id").notNullable();
    t.text("host").notNullable();
    t.text("key_authorization").notNullable();
    t.timestamp("created_at", { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.foreign(["cluster_id", "org_id"]).references(["id", "org_id"]).inTable("clusters").onDelete("CASCADE");
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable("ingress_acme_challenges");
  await knex.raw("DROP INDEX IF EXISTS ingress_certificates_one_current");
  await knex.schema.dropTable("ingress_certificates");
}

import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex("environment_secrets")
    .whereNull("content_digest")
    .update({ content_digest: knex.raw("encode(sha256(nonce || ciphertext || auth_tag), 'hex')") });
}

export async function down(knex: Knex): Promise<void> {
  await knex("environment_secrets").update({ content_digest: null });
}

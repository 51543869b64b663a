import type { Knex } from "knex";

/**
 * The image each service of a succeeded deployment ran, as the agent saw it once the stack converged: a list of
 * `{ service, image, pinned, kind }` where `pinned` is the registry digest reference (`kind: "digest"`) or, for a
 * node-local image without one, the local image ID (`kind: "image-id"`). A later deployment of the same release to
 * the environment (a rollback or a redeploy) deploys these references, so it runs exactly these images even when
 * a tag moved. Null for deployments that did not succeed or were reported by agents that do not send it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("deployments", (t) => {
    t.jsonb("images").nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("deployments", (t) => {
    t.dropColumn("images");
  });
}

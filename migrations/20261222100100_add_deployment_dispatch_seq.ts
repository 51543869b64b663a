import type { Knex } from "knex";

/**
 * The seq of a deployment's "dispatching" event, set when a worker commits that event just before it sends the
 * command (whose `firstSeq` is this + 1), and cleared again only when the agent was certainly not reached. A worker
 * that picks the job up after another one died re-sends the command with the same numbers instead of writing a
 * second dispatch: control-plane events never take a number of the agent's range. Null: not dispatched yet.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable("deployments", (t) => {
    t.integer("dispatch_seq").nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable("deployments", (t) => {
    t.dropColumn("dispatch_seq");
  });
}

import type { Knex } from "knex";

/**
 * Existing environments all deployed into a Swarm stack named after their stack. Per cluster and stack, the
 * environment that deployed last keeps that name (its services run there); the others get `<stack>-<env>`, made
 * unique on the cluster with a piece of the environment id when that is taken too.
 */
export async function up(knex: Knex): Promise<void> {
  const rows = await knex("environments as e")
    .join("stacks as s", "s.id", "e.stack_id")
    .select<Array<{ id: string; cluster_id: string; stack_id: string; env_name: string; stack_name: string }>>(
      "e.id",
      "e.cluster_id",
      "e.stack_id",
      "e.name as env_name",
      "s.name as stack_name",
    )
    .select(
      knex.raw(
        "(select max(d.finished_at) from deployments d where d.environment_id = e.id and d.status = 'SUCCEEDED') as last_deployed_at",
      ),
    )
    .orderBy([{ column: "last_deployed_at", order: "desc", nulls: "last" }, { column: "e.created_at" }]);
  const taken = new Set<string>();
  const keeper = new Set<string>();
  const plan: Array<{ id: string; swarmStack: string }> = [];
  for (const row of rows as Array<(typeof rows)[number] & { last_deployed_at: Date | null }>) {
    const group = `${row.cluster_id}/${row.stack_id}`;
    let name: string;
    if (row.last_deployed_at && !keeper.has(group) && !taken.has(`${row.cluster_id}/${row.stack_name}`)) {
      keeper.add(group);
      name = row.stack_name;
    } else {
      name = `${row.stack_name}-${row.env_name}`.slice(0, 63).replace(/[-_]+$/, "");
      if (taken.has(`${row.cluster_id}/${name}`)) name = `${name.slice(0, 54)}-${row.id.slice(0, 8)}`;
    }
    taken.add(`${row.cluster_id}/${name}`);
    plan.push({ id: row.id, swarmStack: name });
  }
  for (const { id, swarmStack } of plan) await knex("environments").where({ id }).update({ swarm_stack: swarmStack });
}

export async function down(knex: Knex): Promise<void> {
  await knex("environments").update({ swarm_stack: null });
}

/** Rows the stacks integration tests need: an org with a cluster, a stack and an environment. */
import { randomBytes } from "node:crypto";
import type { Knex } from "knex";

export interface StackFixture {
  orgId: string;
  clusterId: string;
  stackId: string;
  environmentId: string;
}

export async function insertStackFixture(db: Knex, label = "t"): Promise<StackFixture> {
  const suffix = randomBytes(4).toString("hex");
  const [org] = await db("orgs")
    .insert({ name: `org ${label} ${suffix}` })
    .returning<{ id: string }[]>("id");
  if (!org) throw new Error("org insert returned no row");
  const [cluster] = await db("clusters")
    .insert({ org_id: org.id, name: `cluster-${suffix}` })
    .returning<{ id: string }[]>("id");
  if (!cluster) throw new Error("cluster insert returned no row");
  const [stack] = await db("stacks")
    .insert({ org_id: org.id, name: `stack-${suffix}` })
    .returning<{ id: string }[]>("id");
  if (!stack) throw new Error("stack insert returned no row");
  const [environment] = await db("environments")
    .insert({ org_id: org.id, stack_id: stack.id, cluster_id: cluster.id, name: "prod" })
    .returning<{ id: string }[]>("id");
  if (!environment) throw new Error("environment insert returned no row");
  return { orgId: org.id, clusterId: cluster.id, stackId: stack.id, environmentId: environment.id };
}

/** A master-key spec with fresh random keys, e.g. `testMasterKeySpec("k2", "k1")`. */
export function testMasterKeySpec(...ids: string[]): string {
  return ids.map((id) => `${id}:${randomBytes(32).toString("base64")}`).join(",");
}

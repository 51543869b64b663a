/** Rows the stacks integration tests need: an org with a cluster, a stack and an environment. */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
    .insert({ org_id: org.id, stack_id: stack.id, cluster_id: cluster.id, name: "prod", swarm_stack: "web-prod" })
    .returning<{ id: string }[]>("id");
  if (!environment) throw new Error("environment insert returned no row");
  return { orgId: org.id, clusterId: cluster.id, stackId: stack.id, environmentId: environment.id };
}

/** A master-key spec with fresh random keys, e.g. `testMasterKeySpec("k2", "k1")`. */
export function testMasterKeySpec(...ids: string[]): string {
  return ids.map((id) => `${id}:${randomBytes(32).toString("base64")}`).join(",");
}

/** A working copy and a bare "origin" in a temp dir, driven by the real git with a hermetic config. */
export interface TestGitRepo {
  root: string;
  work: string;
  bare: string;
  /** `file://` URL of the bare repository. */
  url: string;
  git(cwd: string, ...args: string[]): string;
}

export function createTestGitRepo(prefix: string): TestGitRepo {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const work = join(root, "work");
  const bare = join(root, "origin.git");
  const git = (cwd: string, ...args: string[]): string =>
    execFileSync("git", args, {
      cwd,
      encoding: "utf8",
      env: {
        PATH: process.env.PATH,
        HOME: root,
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_AUTHOR_NAME: "t",
        GIT_AUTHOR_EMAIL: "t@example.com",
        GIT_COMMITTER_NAME: "t",
        GIT_COMMITTER_EMAIL: "t@example.com",
      },
    }).trim();
  git(root, "init", "--quiet", "--bare", "--initial-branch=main", bare);
  git(root, "init", "--quiet", "--initial-branch=main", work);
  return { root, work, bare, url: `file://${bare}`, git };
}

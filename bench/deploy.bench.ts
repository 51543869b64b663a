/**
 * Issue #18 part 2, real deploy overhead on this machine's Swarm: one stack (3 services × 2 replicas of the local
 * test image, each with a healthcheck) rolled out again and again by three paths, alternating, one change (an
 * environment variable) per round so every round is a rolling update of all six tasks:
 * (a) `docker stack deploy --detach=false` (the CLI waits for convergence, then its own stability check);
 * (b) `docker stack deploy` plus a tight poll of the engine until every replica of the new spec runs: the floor;
 * (c) Stackyard: POST /deployments → the deployment reads SUCCEEDED, with the real agent (child process) and the
 *     control plane (child process). The agent calls a healthchecked service converged once its tasks run (Swarm
 *     only says running when healthy), so the declared stability grace is 0 here and the goal is (c) ≤ (b) + 300 ms.
 * BENCH_DEPLOY_RUNS rounds (default 10), after one unmeasured round that creates the stacks.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import type { Db } from "../services/_shared/db.js";
import { createOrgWithAdmin } from "../services/_shared/testing/fixtures.js";
import { prepareSwarm, removeStack, TEST_IMAGE } from "../services/_shared/testing/swarm.js";
import { sleep } from "../services/_shared/testing/wait.js";
import { startChildControlPlane } from "./control-plane.js";
import type { Bench, Figure } from "./figures.js";
import { medianOf } from "./figures.js";
import { startRealAgent, type RealAgent } from "./real-agent.js";

const exec = promisify(execFile);
const RUNS = Number(process.env.BENCH_DEPLOY_RUNS ?? 10);
const SERVICES = 3;
const REPLICAS = 2;
const TIGHT_POLL_MS = 20;
/** The agent's stabilisation wait for these services: 0, they declare a healthcheck (convergence.ts). */
const DECLARED_GRACE_MS = 0;

function compose(round: number): string {
  const service = (i: number) => `  s${i}:
    image: ${TEST_IMAGE}
    command: ["sleep", "86400"]
    environment:
      ROUND: "${round}"
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD-SHELL", "test -e /proc/1"]
      interval: 1s
      timeout: 1s
      retries: 3
    deploy:
      replicas: ${REPLICAS}
      update_config: { parallelism: ${REPLICAS}, monitor: 1s }
      restart_policy: { condition: any, delay: 1s }
`;
  return `services:\n${Array.from({ length: SERVICES }, (_, i) => service(i)).join("")}`;
}

/** Every replica of every service runs the spec of `round` (and nothing of an older spec still runs). */
async function allRunning(docker: Docker, stack: string, round: number): Promise<boolean> {
  const tasks = await docker.listTasks({
    filters: JSON.stringify({ label: [`com.docker.stack.namespace=${stack}`], "desired-state": ["running"] }),
  });
  const want = `ROUND=${round}`;
  const current = tasks.filter((t) => (t.Spec?.ContainerSpec?.Env ?? []).includes(want));
  return (
    tasks.length === SERVICES * REPLICAS &&
    current.length === SERVICES * REPLICAS &&
    current.every((t) => t.Status?.State === "running")
  );
}

async function timed(run: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

/** Where the time of one Stackyard deploy went: each stored event's offset from the POST (agent clock = ours). */
async function printTimeline(db: Db, deploymentId: string, postedAt: number): Promise<void> {
  const events = await db("deployment_events")
    .where({ deployment_id: deploymentId })
    .orderBy("seq")
    .select<{ seq: string; ts: Date; message: string }[]>("seq", "ts", "message");
  for (const e of events)
    console.error(`[bench] deploy timeline +${e.ts.getTime() - postedAt} ms #${e.seq} ${e.message.slice(0, 100)}`);
}

async function run(): Promise<Figure[]> {
  await prepareSwarm();
  const docker = new Docker();
  const dir = await mkdtemp(join(tmpdir(), "stackyard-bench-deploy-"));
  const tag = randomBytes(3).toString("hex");
  const direct = { a: `bench-${tag}-a`, b: `bench-${tag}-b` };
  const cp = await startChildControlPlane();
  let agent: RealAgent | null = null;
  let swarmStack: string | undefined;
  try {
    const org = await createOrgWithAdmin(cp.api);
    agent = await startRealAgent(cp, org, `deploy-${tag}`);
    const auth = org.admin.auth;
    const stack = await cp.api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: `bench-${tag}` },
      headers: auth,
    });
    const env = await cp.api.request<{ id: string; swarmStack: string }>(
      "POST",
      `/v1/stacks/${stack.body.id}/environments`,
      { body: { name: "c", clusterId: agent.clusterId, deployTimeoutSeconds: 120 }, headers: auth },
    );
    if (env.status !== 201) throw new Error(`environment: ${JSON.stringify(env.body)}`);
    swarmStack = env.body.swarmStack;

    const cli = async (stackName: string, round: number, wait: boolean) => {
      const file = join(dir, `${stackName}-${round}.yml`);
      await writeFile(file, compose(round));
      await exec("docker", ["stack", "deploy", `--detach=${wait ? "false" : "true"}`, "-c", file, stackName], {
        timeout: 180_000,
      });
    };
    const paths = {
      a: (round: number) => timed(() => cli(direct.a, round, true)),
      b: (round: number) =>
        timed(async () => {
          await cli(direct.b, round, false);
          while (!(await allRunning(docker, direct.b, round))) await sleep(TIGHT_POLL_MS);
        }),
      c: async (round: number) => {
        let deploymentId = "";
        let postedAt = 0;
        // The release upload is not part of the deploy: it happens before the clock starts.
        const release = await cp.api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
          body: { sourceType: "upload", composeYaml: compose(round) },
          headers: auth,
        });
        if (release.status !== 201) throw new Error(`release: ${JSON.stringify(release.body)}`);
        const took = await timed(async () => {
          postedAt = Date.now();
          const res = await fetch(`${cp.baseUrl}/v1/environments/${env.body.id}/deployments`, {
            method: "POST",
            headers: { ...auth, "content-type": "application/json", "idempotency-key": randomBytes(8).toString("hex") },
            body: JSON.stringify({ releaseId: release.body.id }),
          });
          const dep = (await res.json()) as { id: string };
          if (res.status !== 202) throw new Error(`deploy answered ${res.status}: ${JSON.stringify(dep)}`);
          deploymentId = dep.id;
          for (;;) {
            const d = (await (await fetch(`${cp.baseUrl}/v1/deployments/${dep.id}`, { headers: auth })).json()) as {
              status: string;
              errorMessage: string | null;
            };
            if (d.status === "SUCCEEDED") return;
            if (d.status !== "PENDING" && d.status !== "RUNNING")
              throw new Error(`deployment ended ${d.status}: ${d.errorMessage}`);
            await sleep(TIGHT_POLL_MS);
          }
        });
        if (round === 1) await printTimeline(cp.db, deploymentId, postedAt);
        return took;
      },
    };
    // Round 0 creates the stacks (networks, first tasks): not measured.
    for (const p of ["a", "b", "c"] as const) await paths[p](0);
    const samples = { a: [] as number[], b: [] as number[], c: [] as number[] };
    const overhead: number[] = [];
    const order = ["a", "b", "c"] as const;
    for (let round = 1; round <= RUNS; round++) {
      // Rotate the order so no path always runs first after a quiet pause.
      const got: Record<string, number> = {};
      for (let k = 0; k < order.length; k++) {
        const p = order[(round + k) % order.length]!;
        got[p] = await paths[p](round);
        samples[p].push(got[p]);
      }
      overhead.push(got.c! - got.b!);
      console.error(
        `[bench] deploy round ${round}: a ${got.a!.toFixed(0)} ms, b ${got.b!.toFixed(0)} ms, c ${got.c!.toFixed(0)} ms`,
      );
    }
    const round = (x: { value: number; min: number; max: number }) => ({
      value: Math.round(x.value),
      min: Math.round(x.min),
      max: Math.round(x.max),
    });
    const note = `${RUNS} rounds each, ${SERVICES} services × ${REPLICAS} replicas, healthchecked`;
    return [
      {
        bench: "deploy",
        name: "(a) docker stack deploy --detach=false",
        unit: "ms",
        ...round(medianOf(samples.a)),
        note,
      },
      {
        bench: "deploy",
        name: "(b) docker stack deploy + tight poll (floor)",
        unit: "ms",
        ...round(medianOf(samples.b)),
        note,
      },
      { bench: "deploy", name: "(c) Stackyard POST → SUCCEEDED", unit: "ms", ...round(medianOf(samples.c)), note },
      {
        bench: "deploy",
        name: "(c) − (b) per round",
        unit: "ms",
        ...round(medianOf(overhead)),
        goal: { kind: "max", value: DECLARED_GRACE_MS + 300 },
        note: `declared stability grace ${DECLARED_GRACE_MS} ms (healthchecked) + 300 ms`,
      },
    ];
  } finally {
    await agent?.stop();
    for (const s of [direct.a, direct.b, swarmStack])
      if (s) await removeStack(s).catch((err: unknown) => console.error(String(err)));
    await cp.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export const deployBench: Bench = {
  name: "deploy",
  description: "one stack on the real Swarm: docker stack deploy (waiting, and the tight-poll floor) vs Stackyard",
  run,
};

/**
 * Issue #18 part 1, dispatch: ≥ 500 deploys across 50 environments, POST /deployments → the agent holds the
 * verified (signature-checked) DeployStack command, on the control plane as a child process with real NATS and
 * Postgres. In the same run, on the same control plane, a simulated polling agent (what Portainer's edge agent
 * does): one poller per environment asks the deployments list every 5 s for new work; its latency is POST → the
 * poll that first sees the deployment. Deploys arrive open-loop at a fixed rate, round-robin over environments.
 * Repeated BENCH_DISPATCH_RUNS times (default 3): the figures are medians of the runs' percentiles, with min/max.
 */
import type { Bench, Figure } from "./figures.js";
import { medianOf } from "./figures.js";
import { startChildControlPlane, type ChildControlPlane } from "./control-plane.js";
import { summarize } from "./stats.js";
import { acceptDeploys, startBenchWorld, type BenchWorld } from "./world.js";
import { sleep } from "../services/_shared/testing/wait.js";
import type { DeployStack } from "../nats/protocol/messages.js";

const ENVIRONMENTS = 50;
const DEPLOYS = Number(process.env.BENCH_DISPATCH_DEPLOYS ?? 500);
const DEPLOYS_PER_SECOND = Number(process.env.BENCH_DISPATCH_RATE ?? 10);
const POLL_INTERVAL_MS = 5_000;
const RUNS = Number(process.env.BENCH_DISPATCH_RUNS ?? 3);

interface RunResult {
  push: number[];
  poll: number[];
  /** POST → its 202 answer. */
  answered: number[];
  /** POSTs that did not answer 202, with what they answered. */
  failed: string[];
}

/**
 * Ends the deployment shortly after, so its environment is free for the next deploy (no queueing in the figure).
 * Not at once: the control plane marks it RUNNING only once the agent's reply is back, and a terminal event that
 * overtakes that commit would leave it RUNNING (a real agent takes far longer than this to deploy anything).
 */
function finishSoon(world: BenchWorld, payload: DeployStack): void {
  setTimeout(
    () =>
      void world.agent
        .emit(payload.deploymentId, payload.firstSeq, "done", { outcome: "succeeded" })
        .catch(() => undefined), // the run is over and the agent closed
    300,
  );
}

/** Waits (up to a minute) until no deployment is still pending or running, so one run's backlog is not the next's. */
async function drained(cp: ChildControlPlane): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    const [row] = (await cp.db("deployments").whereIn("status", ["PENDING", "RUNNING"]).count("* as n")) as Array<{
      n: string;
    }>;
    if (Number(row!.n) === 0) return;
    await sleep(500);
  }
  console.error("[bench] dispatch: deployments still pending after a minute; the next run starts behind");
}

async function oneRun(baseUrl: string, world: BenchWorld): Promise<RunResult> {
  const posted = new Map<string, number>();
  const held = new Map<string, number>();
  const seenByPoll = new Map<string, number>();
  acceptDeploys(world.agent, (payload, at) => {
    held.set(payload.deploymentId, at);
    finishSoon(world, payload);
  });

  // Pollers: one per environment, phases spread over the interval, as independent edge agents would be.
  let polling = true;
  const known = new Set<string>();
  const pollers = world.environments.map(async (envId, i) => {
    await sleep((i * POLL_INTERVAL_MS) / world.environments.length);
    while (polling) {
      const next = performance.now() + POLL_INTERVAL_MS;
      const res = await fetch(`${baseUrl}/v1/environments/${envId}/deployments?limit=20`, {
        headers: world.org.admin.auth,
      });
      const body = (await res.json()) as { items: Array<{ id: string }> };
      const at = performance.now();
      for (const d of body.items) {
        if (!known.has(d.id)) {
          known.add(d.id);
          seenByPoll.set(d.id, at);
        }
      }
      await sleep(Math.max(0, next - performance.now()));
    }
  });
  // Deployments made before this run are known to the pollers after their first round.
  await sleep(POLL_INTERVAL_MS + 200);

  const started = performance.now();
  const posts: Promise<void>[] = [];
  const answered: number[] = [];
  const failed: string[] = [];
  for (let i = 0; i < DEPLOYS; i++) {
    const due = started + (i * 1000) / DEPLOYS_PER_SECOND;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const envId = world.environments[i % world.environments.length]!;
    const at = performance.now();
    posts.push(
      world.deploy(envId).then(
        (id) => {
          posted.set(id, at);
          answered.push(performance.now() - at);
        },
        (err: unknown) => {
          // A refused POST is a finding, not a reason to stop the run: counted and reported.
          failed.push(String(err));
        },
      ),
    );
  }
  await Promise.all(posts);
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline && [...posted.keys()].some((id) => !held.has(id) || !seenByPoll.has(id)))
    await sleep(50);
  polling = false;
  await Promise.all(pollers);

  const push: number[] = [];
  const poll: number[] = [];
  for (const [id, at] of posted) {
    const h = held.get(id);
    const p = seenByPoll.get(id);
    if (h !== undefined) push.push(h - at);
    if (p !== undefined) poll.push(p - at);
  }
  if (push.length < DEPLOYS || poll.length < DEPLOYS)
    console.error(`[bench] dispatch: ${push.length} pushed, ${poll.length} polled of ${DEPLOYS}`);
  return { push, poll, answered, failed };
}

async function run(): Promise<Figure[]> {
  const cp = await startChildControlPlane();
  try {
    const world = await startBenchWorld(cp, ENVIRONMENTS);
    // Warm-up: one deploy per environment, not counted.
    const warm = new Set<string>();
    acceptDeploys(world.agent, (p) => {
      warm.add(p.deploymentId);
      finishSoon(world, p);
    });
    for (const envId of world.environments) await world.deploy(envId);
    while (warm.size < ENVIRONMENTS) await sleep(20);
    await sleep(500);

    const runs: RunResult[] = [];
    for (let r = 0; r < RUNS; r++) {
      runs.push(await oneRun(cp.baseUrl, world));
      await drained(cp);
    }
    await world.agent.close();
    const failedPosts = runs.flatMap((r) => r.failed);
    if (failedPosts.length > 0) {
      console.error(`[bench] dispatch: ${failedPosts.length} POSTs failed, e.g. ${failedPosts[0]}`);
      console.error(
        cp.output
          .filter((l) => l.includes("error"))
          .slice(-10)
          .join("\n"),
      );
    }

    const stat = (key: "push" | "poll", q: "p50_ms" | "p99_ms") => medianOf(runs.map((x) => summarize(x[key])[q]!));
    const pushP50 = stat("push", "p50_ms");
    const pushP99 = stat("push", "p99_ms");
    const pollP50 = stat("poll", "p50_ms");
    const pollP99 = stat("poll", "p99_ms");
    const answeredP50 = medianOf(runs.map((x) => summarize(x.answered).p50_ms!));
    const ratio = medianOf(runs.map((x) => summarize(x.poll).p50_ms! / summarize(x.push).p50_ms!));
    const held = runs.reduce((a, r) => a + r.push.length, 0);
    const note = `${DEPLOYS} deploys × ${RUNS} runs, ${ENVIRONMENTS} envs, ${DEPLOYS_PER_SECOND}/s; ${held} held within 30 s`;
    return [
      {
        bench: "dispatch",
        name: "POST → agent holds verified command p50",
        unit: "ms",
        ...pushP50,
        goal: { kind: "max", value: 10 },
        note,
      },
      {
        bench: "dispatch",
        name: "POST → agent holds verified command p99",
        unit: "ms",
        ...pushP99,
        goal: { kind: "max", value: 25 },
        note,
      },
      { bench: "dispatch", name: "POST → 202 answered p50", unit: "ms", ...answeredP50, note },
      {
        bench: "dispatch",
        name: "POSTs not answered 202",
        unit: "POSTs",
        value: failedPosts.length,
        goal: { kind: "max", value: 0 },
        note: `of ${DEPLOYS * RUNS}`,
      },
      {
        bench: "dispatch",
        name: "5 s poller: POST → poll sees it p50",
        unit: "ms",
        ...pollP50,
        note: "same runs, 1 poller per env",
      },
      {
        bench: "dispatch",
        name: "5 s poller: POST → poll sees it p99",
        unit: "ms",
        ...pollP99,
        note: "same runs, 1 poller per env",
      },
      {
        bench: "dispatch",
        name: "poller p50 / push p50",
        unit: "×",
        ...ratio,
        note: "how many times slower polling is",
      },
    ];
  } finally {
    await cp.stop();
  }
}

export const dispatchBench: Bench = {
  name: "dispatch",
  description: "POST → agent holds the command over 50 environments, against a simulated 5 s polling agent",
  run,
};

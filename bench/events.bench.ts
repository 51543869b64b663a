/**
 * Issue #18 part 3, the event pipeline, end to end: the stand-in agent publishes deployment output lines on
 * JetStream through the real agent's event stream (a message per line, or per batch of the lines that waited during
 * the previous publish, each with its message id), the control plane (a child process) writes them to Postgres in
 * batches and streams each committed line to SSE clients (one per deployment). Two phases on 10 deployments:
 * - 2,000 lines/s in total (200 each) for the latency goal: publish → SSE receipt, i.e. after the row committed;
 * - 10 × 5,000 lines/s offered (50,000/s) for throughput: rows persisted per second, first publish → last row.
 * Then the check: per deployment, rows stored vs lines sent (0 lost), and no seq stored or streamed twice.
 */
import { medianOf, type Bench, type Figure } from "./figures.js";
import { startChildControlPlane } from "./control-plane.js";
import { readDeploymentEvents, type SseReader } from "./sse-reader.js";
import { latencyFigures } from "./stats.js";
import { acceptDeploys, startBenchWorld, type BenchWorld } from "./world.js";
import { sleep } from "../services/_shared/testing/wait.js";
import type { DeployStack } from "../nats/protocol/messages.js";
import { DeploymentEventStream } from "../agent/src/events.js";
import { createLogger } from "../agent/src/logger.js";

const DEPLOYMENTS = 10;
const SLOW_RATE = 2_000;
const SLOW_SECONDS = Number(process.env.BENCH_EVENTS_SLOW_SECONDS ?? 5);
const FAST_RATE_EACH = 5_000;
const FAST_SECONDS = Number(process.env.BENCH_EVENTS_FAST_SECONDS ?? 4);
const RUNS = Number(process.env.BENCH_EVENTS_RUNS ?? 3);

interface Line {
  deployment: DeployStack;
  seq: number;
}

/** One agent-side event stream per deployment: the lines go out as the real agent sends them (agent/src/events.ts). */
type Streams = Map<string, DeploymentEventStream>;

function streamsFor(world: BenchWorld, deployments: DeployStack[]): Streams {
  const log = createLogger({ level: "error", write: () => undefined });
  return new Map(
    deployments.map((d) => [
      d.deploymentId,
      new DeploymentEventStream({
        publish: (subject, data, opts) => world.agent.js.publish(subject, data, opts),
        clusterId: world.agent.clusterId,
        deploymentId: d.deploymentId,
        firstSeq: d.firstSeq,
        now: Date.now,
        log,
      }),
    ]),
  );
}

/**
 * Emits lines at `rate` per second in total, round-robin over deployments, recording each emit time; resolves once
 * every stream has them acknowledged (or dropped).
 */
async function publishAt(
  streams: Streams,
  lines: Line[],
  rate: number,
  sent: Map<string, number>,
): Promise<{ seconds: number; acked: number }> {
  const droppedBefore = [...streams.values()].reduce((n, s) => n + s.dropped, 0);
  const started = performance.now();
  // Emits in small bursts every millisecond-ish: a timer per line cannot fire 50,000 times a second.
  for (let i = 0; i < lines.length;) {
    const due = Math.floor(((performance.now() - started) * rate) / 1000) + 1;
    for (; i < Math.min(due, lines.length); i++) {
      const { deployment, seq } = lines[i]!;
      sent.set(`${deployment.deploymentId}:${seq}`, performance.now());
      streams
        .get(deployment.deploymentId)!
        .emit({ level: "info", message: `bench line ${seq} of ${deployment.deploymentId}` });
    }
    await sleep(1);
  }
  const seconds = (performance.now() - started) / 1000;
  await Promise.all([...streams.values()].map((s) => s.flushed()));
  const dropped = [...streams.values()].reduce((n, s) => n + s.dropped, 0) - droppedBefore;
  return { seconds, acked: lines.length - dropped };
}

function linesFor(deployments: DeployStack[], next: Map<string, number>, perDeployment: number): Line[] {
  const lines: Line[] = [];
  for (let i = 0; i < perDeployment; i++)
    for (const d of deployments) {
      const seq = next.get(d.deploymentId)!;
      next.set(d.deploymentId, seq + 1);
      lines.push({ deployment: d, seq });
    }
  return lines;
}

async function runOnce(): Promise<Figure[]> {
  const cp = await startChildControlPlane();
  const readers: SseReader[] = [];
  try {
    const world = await startBenchWorld(cp, DEPLOYMENTS);
    const deployments: DeployStack[] = [];
    acceptDeploys(world.agent, (payload) => void deployments.push(payload));
    for (const env of world.environments) await world.deploy(env);
    while (deployments.length < DEPLOYMENTS) await sleep(20);
    await sleep(500); // let them turn RUNNING

    const received = new Map<string, number>();
    let streamedTwice = 0;
    for (const d of deployments) {
      readers.push(
        await readDeploymentEvents(
          `${cp.baseUrl}/v1/deployments/${d.deploymentId}/events`,
          world.org.admin.auth,
          (seq, at) => {
            const key = `${d.deploymentId}:${seq}`;
            if (received.has(key)) streamedTwice++;
            else received.set(key, at);
          },
        ),
      );
    }
    await sleep(300);
    const next = new Map(deployments.map((d) => [d.deploymentId, d.firstSeq]));
    const streams = streamsFor(world, deployments);

    // Phase 1: latency at 2,000 lines/s.
    const sent = new Map<string, number>();
    const slow = linesFor(deployments, next, (SLOW_RATE * SLOW_SECONDS) / DEPLOYMENTS);
    await publishAt(streams, slow, SLOW_RATE, sent);
    const waitFor = async (lines: Line[], ms: number) => {
      const deadline = performance.now() + ms;
      const missing = () => lines.some((l) => !received.has(`${l.deployment.deploymentId}:${l.seq}`));
      while (performance.now() < deadline && missing()) await sleep(50);
    };
    await waitFor(slow, 20_000);
    const slowLatency = slow.flatMap((l) => {
      const key = `${l.deployment.deploymentId}:${l.seq}`;
      const r = received.get(key);
      return r === undefined ? [] : [r - sent.get(key)!];
    });

    // Phase 2: throughput with 10 × 5,000 lines/s offered.
    const ids = deployments.map((d) => d.deploymentId);
    const countRows = async () =>
      Number(
        ((await cp.db("deployment_events").whereIn("deployment_id", ids).count("* as n")) as Array<{ n: string }>)[0]!
          .n,
      );
    // Each deployment's highest stored seq, from the primary key's index: polled every 20 ms, a count(*) over the
    // growing table took a third of a core from the Postgres the writer needs.
    const lastSeqs = async () =>
      (
        await cp.db.raw<{ rows: Array<{ last: string | null }> }>(
          `select (select max(seq) from deployment_events e where e.deployment_id = d.id) as last
             from unnest(?::uuid[]) as d(id)`,
          [ids],
        )
      ).rows.map((r) => (r.last === null ? -1 : Number(r.last)));
    const before = await countRows();
    const fast = linesFor(deployments, next, FAST_RATE_EACH * FAST_SECONDS);
    const finalSeq = Math.min(...deployments.map((d) => next.get(d.deploymentId)! - 1));
    const fastStart = performance.now();
    // Lines of a deployment are stored in order (one publisher per deployment, one writer): its last seq stored
    // means all its lines are; the count check below says whether any went missing.
    const watch = (async () => {
      const deadline = fastStart + 120_000;
      while (performance.now() < deadline && Math.min(...(await lastSeqs())) < finalSeq) await sleep(20);
      const at = performance.now();
      return { rows: (await countRows()) - before, at };
    })();
    const published = await publishAt(streams, fast, FAST_RATE_EACH * DEPLOYMENTS, sent);
    const persisted = await watch;
    await waitFor(fast, 30_000);
    const fastLatency = fast.flatMap((l) => {
      const key = `${l.deployment.deploymentId}:${l.seq}`;
      const r = received.get(key);
      return r === undefined ? [] : [r - sent.get(key)!];
    });

    // The check: rows per deployment against the lines sent (the dispatching event is the control plane's own).
    const rows = (await cp
      .db("deployment_events")
      .whereIn(
        "deployment_id",
        deployments.map((d) => d.deploymentId),
      )
      .where("message", "like", "bench line %")
      .select("deployment_id")
      .count("* as n")
      .countDistinct("seq as distinct")
      .groupBy("deployment_id")) as Array<{ deployment_id: string; n: string; distinct: string }>;
    const expected = slow.length + fast.length;
    const stored = rows.reduce((a, r) => a + Number(r.n), 0);
    const distinct = rows.reduce((a, r) => a + Number(r.distinct), 0);
    const streamedLost = [...slow, ...fast].filter(
      (l) => !received.has(`${l.deployment.deploymentId}:${l.seq}`),
    ).length;
    await world.agent.close();
    const rowsPerSecond = persisted.rows / ((persisted.at - fastStart) / 1000);
    return [
      ...latencyFigures("events", `publish → row committed → SSE at ${SLOW_RATE} lines/s`, slowLatency, {
        goalP99: 50,
        note: `${DEPLOYMENTS} deployments, ${slow.length} lines, 1 SSE client each`,
      }),
      ...latencyFigures("events", `publish → SSE at ${DEPLOYMENTS}×${FAST_RATE_EACH} lines/s offered`, fastLatency, {
        note: `${fast.length} lines`,
      }),
      {
        bench: "events",
        name: "rows persisted per second",
        value: Math.round(rowsPerSecond),
        unit: "rows/s",
        goal: { kind: "min", value: 50_000 },
        note: `first publish → last row; publisher reached ${Math.round(fast.length / published.seconds)} lines/s`,
      },
      {
        bench: "events",
        name: "lines lost (stored)",
        value: expected - distinct,
        unit: "lines",
        goal: { kind: "max", value: 0 },
        note: `${expected} sent, ${published.acked} of the fast phase acked`,
      },
      {
        bench: "events",
        name: "lines duplicated (stored)",
        value: stored - distinct,
        unit: "lines",
        goal: { kind: "max", value: 0 },
      },
      {
        bench: "events",
        name: "lines lost (SSE)",
        value: streamedLost,
        unit: "lines",
        goal: { kind: "max", value: 0 },
      },
      {
        bench: "events",
        name: "lines duplicated (SSE)",
        value: streamedTwice,
        unit: "lines",
        goal: { kind: "max", value: 0 },
      },
    ];
  } finally {
    for (const r of readers) r.close();
    await cp.stop();
  }
}

/**
 * BENCH_EVENTS_RUNS runs (default 3), each with a control plane of its own: every figure is the median of the
 * runs with their extremes as min–max, except lost and duplicated lines, which are the sum over the runs.
 */
async function run(): Promise<Figure[]> {
  const runs: Figure[][] = [];
  for (let r = 0; r < RUNS; r++) runs.push(await runOnce());
  return runs[0]!.map((first, i) => {
    const values = runs.map((figures) => figures[i]!.value);
    const note = `${first.note ? `${first.note}; ` : ""}${RUNS} run${RUNS === 1 ? "" : "s"}`;
    if (first.unit === "lines") return { ...first, value: values.reduce((a, b) => a + b, 0), note };
    return { ...first, ...medianOf(values), note };
  });
}

export const eventsBench: Bench = {
  name: "events",
  description: "agent line → Postgres row → SSE on 10 deployments: latency at 2,000 lines/s, rows/s at 50,000 offered",
  run,
};

/**
 * `make bench`: runs every benchmark part (or those named in BENCH, comma-separated, e.g. `make bench BENCH=fleet`),
 * prints one table with each goal beside its figure and writes `bench/results/<date>-<commit>.json`. Goals are read
 * from these numbers, never asserted in tests. Each part starts what it needs and stops it again.
 */
import { apiBench } from "./api.bench.js";
import { deployBench } from "./deploy.bench.js";
import { deployPipelineBench } from "./deploy-pipeline.bench.js";
import { dispatchBench } from "./dispatch.bench.js";
import { eventsBench } from "./events.bench.js";
import { fleetBench } from "./fleet.bench.js";
import type { Bench, Figure } from "./figures.js";
import { footprintBench } from "./footprint.bench.js";
import { healthBench } from "./gateway-health.bench.js";
import { loadavg } from "node:os";
import { formatTable, resultsFileFor, writeResults } from "./report.js";
import { sseFanoutBench } from "./sse-fanout.bench.js";

/** Every part, in the order `make bench` runs them. Add a part here. */
const benches: Bench[] = [
  healthBench,
  deployPipelineBench,
  dispatchBench,
  deployBench,
  eventsBench,
  apiBench,
  footprintBench,
  fleetBench,
  sseFanoutBench,
];

const wanted = (process.env.BENCH ?? "")
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = wanted.filter((name) => !benches.some((b) => b.name === name));
if (unknown.length > 0) {
  console.error(`unknown BENCH part(s): ${unknown.join(", ")}; known: ${benches.map((b) => b.name).join(", ")}`);
  process.exit(2);
}
const selected = wanted.length > 0 ? benches.filter((b) => wanted.includes(b.name)) : benches;

const startedAt = new Date();
const resultsFile = resultsFileFor(startedAt);
const figures: Figure[] = [];
/** The 1-minute load average around each part: on a shared machine, what else ran is part of the figure. */
const load: Record<string, { before: number; after: number }> = {};
/** Parts that threw: their message, so one broken part neither hides the others' figures nor passes unnoticed. */
const failures: Record<string, string> = {};
let resultsPath = "";
for (const bench of selected) {
  console.error(`[bench] ${bench.name}: ${bench.description}`);
  const started = performance.now();
  const before = loadavg()[0]!;
  try {
    const got = await bench.run();
    figures.push(...got);
    console.error(formatTable(got));
  } catch (err) {
    failures[bench.name] = err instanceof Error ? err.message : String(err);
    console.error(`[bench] ${bench.name} FAILED: ${failures[bench.name]}`);
  }
  load[bench.name] = { before, after: loadavg()[0]! };
  console.error(
    `[bench] ${bench.name} done in ${((performance.now() - started) / 1000).toFixed(1)} s ` +
      `(load average ${before.toFixed(1)} → ${loadavg()[0]!.toFixed(1)})`,
  );
  // Written after every part: a run cut short (or a part that hangs and is killed) keeps what it measured.
  resultsPath = writeResults(resultsFile, figures, startedAt, { loadAverage1m: load, failures });
}
console.log(formatTable(figures));
console.log(`\nwritten to ${resultsPath}`);
if (Object.keys(failures).length > 0) {
  console.error(`[bench] failed parts: ${Object.keys(failures).join(", ")}`);
  process.exitCode = 1;
}

/**
 * `make bench`: runs every benchmark part (or those named in BENCH, comma-separated, e.g. `make bench BENCH=fleet`),
 * prints one table with each goal beside its figure and writes `bench/results/<date>-<commit>.json`. Goals are read
 * from these numbers, never asserted in tests. Each part starts what it needs and stops it again.
 */
import { deployPipelineBench } from "./deploy-pipeline.bench.js";
import { fleetBench } from "./fleet.bench.js";
import type { Bench, Figure } from "./figures.js";
import { healthBench } from "./gateway-health.bench.js";
import { formatTable, writeResults } from "./report.js";
import { sseFanoutBench } from "./sse-fanout.bench.js";

/** Every part, in the order `make bench` runs them. Add a part here. */
const benches: Bench[] = [healthBench, deployPipelineBench, fleetBench, sseFanoutBench];

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
const figures: Figure[] = [];
for (const bench of selected) {
  console.error(`[bench] ${bench.name}: ${bench.description}`);
  const started = performance.now();
  const got = await bench.run();
  console.error(`[bench] ${bench.name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  figures.push(...got);
}
console.log(formatTable(figures));
console.log(`\nwritten to ${writeResults(figures, startedAt)}`);

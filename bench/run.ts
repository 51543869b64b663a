/**
 * `make bench`: runs every benchmark and prints its figures. Goals are read from these numbers, never asserted
 * in tests. Each benchmark starts what it needs (real NATS from our config, the test Postgres).
 */
import { deployPipelineBench } from "./deploy-pipeline.bench.js";
import { healthBench } from "./gateway-health.bench.js";

export interface BenchResult {
  name: string;
  figures: Record<string, number | string>;
}

const benches: Array<() => Promise<BenchResult[]>> = [healthBench, deployPipelineBench];

for (const bench of benches) {
  for (const result of await bench()) {
    console.log(JSON.stringify(result));
  }
}

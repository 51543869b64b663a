/**
 * The bounded, seeded pass of the spec-driven API fuzzer (`make fuzz` runs the long one): every operation of
 * openapi.yaml, ≥ 20 cases each per seed, against the real control plane (Postgres, NATS, a fake agent).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { REPO_ROOT } from "../../services/_shared/paths.js";
import { startTestStack, stopTestStack, type TestStack } from "../../services/_shared/testing/stack.js";
import { ApiFuzzer, mergeReports, summarize, type FuzzReport } from "./api-fuzzer.js";
import { buildFuzzWorld, stopFuzzWorld, type FuzzWorld } from "./world.js";

const SEEDS = [1, 2, 3];
const CASES_PER_OPERATION = 7;

describe("API fuzzer, seeded pass (every operation of openapi.yaml, real control plane)", function () {
  this.timeout(180_000);
  let stack: TestStack | undefined;
  let world: FuzzWorld | undefined;
  let fuzzer: ApiFuzzer;

  before(async () => {
    stack = await startTestStack();
    world = await buildFuzzWorld(stack.api, stack.nats.url);
    fuzzer = new ApiFuzzer(stack.platform.baseUrl, world, stack.db, stack.api, { maxMs: 2000 });
  });
  after(async () => {
    await stopFuzzWorld(world);
    if (stack) await stopTestStack(stack);
  });

  it(`sends ≥ 20 requests per operation over seeds ${SEEDS.join(", ")} and every oracle holds`, async () => {
    const reports: FuzzReport[] = [];
    for (const seed of SEEDS) reports.push(await fuzzer.run(seed, CASES_PER_OPERATION));
    const total = mergeReports(reports);
    console.log(`      ${summarize(total)}`);
    mkdirSync(join(REPO_ROOT, ".state", "fuzz"), { recursive: true });
    writeFileSync(join(REPO_ROOT, ".state", "fuzz", "api-fuzz-seeded.json"), JSON.stringify(total, null, 2));
    for (const op of fuzzer.operations())
      expect(total.operations[op.operation.operationId]?.sent ?? 0).to.be.at.least(20);
    const shown = total.failures
      .slice(0, 15)
      .map(
        (f) =>
          `\n[${f.operationId} #${f.index} ${f.variant}] ${f.problem}\n  ${f.request}\n  → ${f.status} ${f.response}\n  replay: ${f.replay}`,
      )
      .join("\n");
    expect(total.failures, `${total.failures.length} fuzz failures:${shown}`).to.have.length(0);
    expect(total.fiveHundreds).to.equal(0);
  });
});

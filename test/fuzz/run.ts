/**
 * `make fuzz`: the long run of the API fuzzer against a real control plane it starts itself.
 * FUZZ_SEED (default: random, printed), FUZZ_ITERATIONS (cases per operation, default 750 ≈ 100,000 requests over 135 operations, ~15 min),
 * FUZZ_OP (one operationId), FUZZ_CASE (one case index: replays a printed failure), FUZZ_MAX_MS (default 1000).
 * Writes .state/fuzz/api-fuzz-<seed>.json; exits 1 on any failure.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../services/_shared/paths.js";
import { startTestStack, stopTestStack, type TestStack } from "../../services/_shared/testing/stack.js";
import { ApiFuzzer, summarize, type FuzzReport } from "./api-fuzzer.js";
import { buildFuzzWorld, refreshPrincipals, stopFuzzWorld, type FuzzWorld } from "./world.js";

const int = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return Number(raw);
};

const seed = int("FUZZ_SEED", Math.floor(Math.random() * 2 ** 31));
const only = process.env.FUZZ_OP || undefined;
const oneCase = process.env.FUZZ_CASE ? int("FUZZ_CASE", 0) : undefined;
const iterations = oneCase !== undefined ? 1 : int("FUZZ_ITERATIONS", 750);
const maxMs = int("FUZZ_MAX_MS", 1000);
/** Failures printed in full (the report file has them all). */
const PRINTED_FAILURES = 30;
/** Access tokens live 15 minutes: log the principals in again well before. */
const RELOGIN_EVERY_MS = 10 * 60 * 1000;

let stack: TestStack | undefined;
let world: FuzzWorld | undefined;
try {
  console.log(`fuzz: seed ${seed}, ${iterations} case(s) per operation${only ? `, only ${only}` : ""}`);
  stack = await startTestStack();
  world = await buildFuzzWorld(stack.api, stack.nats.url);
  const fuzzer = new ApiFuzzer(stack.platform.baseUrl, world, stack.db, stack.api, {
    maxMs,
    ...(only ? { only } : {}),
  });
  if (fuzzer.operations().length === 0) throw new Error(`no operation named ${only}`);
  const started = Date.now();
  let lastLogin = Date.now();
  let report: FuzzReport | undefined;
  const step = 50;
  for (let first = oneCase ?? 0; first < (oneCase ?? 0) + iterations; first += step) {
    if (Date.now() - lastLogin > RELOGIN_EVERY_MS) {
      await refreshPrincipals(stack.api, world);
      lastLogin = Date.now();
    }
    const part = await fuzzer.run(seed, Math.min(step, (oneCase ?? 0) + iterations - first), undefined, first);
    // Printed as found, so that a long run stopped before its end still tells what it found.
    for (const f of part.failures.slice(0, Math.max(0, PRINTED_FAILURES - (report?.failures.length ?? 0))))
      printFailure(f);
    report = report ? merge(report, part) : part;
    console.log(`fuzz: ${summarize(report)} (${Math.round((Date.now() - started) / 1000)} s)`);
  }
  if (!report) throw new Error("nothing ran");
  const dir = join(REPO_ROOT, ".state", "fuzz");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `api-fuzz-${seed}.json`);
  writeFileSync(file, JSON.stringify({ ...report, seconds: Math.round((Date.now() - started) / 1000) }, null, 2));
  console.log(`\nfuzz: ${summarize(report)}\nfuzz: report in ${file}`);
  process.exitCode = report.failures.length > 0 ? 1 : 0;
} finally {
  await stopFuzzWorld(world);
  if (stack) await stopTestStack(stack);
}

function printFailure(f: FuzzReport["failures"][number]): void {
  console.log(
    `\n[${f.operationId} #${f.index} ${f.variant}] ${f.problem}\n  ${f.request}\n  → ${f.status} ${f.response}\n  replay: ${f.replay}`,
  );
}

function merge(a: FuzzReport, b: FuzzReport): FuzzReport {
  const out: FuzzReport = {
    ...a,
    failures: [...a.failures, ...b.failures],
    requests: a.requests + b.requests,
    fiveHundreds: a.fiveHundreds + b.fiveHundreds,
    maxMs: Math.max(a.maxMs, b.maxMs),
    byStatus: { ...a.byStatus },
    operations: { ...a.operations },
  };
  for (const [s, n] of Object.entries(b.byStatus)) out.byStatus[s] = (out.byStatus[s] ?? 0) + n;
  for (const [id, st] of Object.entries(b.operations)) {
    const o = (out.operations[id] = { ...(out.operations[id] ?? { sent: 0, byStatus: {}, maxMs: 0 }) });
    o.byStatus = { ...o.byStatus };
    o.sent += st.sent;
    o.maxMs = Math.max(o.maxMs, st.maxMs);
    for (const [s, n] of Object.entries(st.byStatus)) o.byStatus[s] = (o.byStatus[s] ?? 0) + n;
  }
  return out;
}

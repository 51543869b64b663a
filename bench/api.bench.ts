/**
 * Issue #18 part 6, the REST API under load: an authenticated list endpoint (GET /v1/orgs/{org}/stacks, 20 stacks)
 * with a JWT access token and with an API token, open-loop at a fixed 300 requests/s and closed-loop at saturation,
 * on the control plane as one child process. Then the Moleculer hop over NATS: the same request at a fixed 300 and
 * 2,000 requests/s, once with every service in one process (local calls) and once with the gateway alone in its
 * own process (each gateway → service call crosses NATS). Each measurement runs BENCH_API_RUNS times (default 3).
 */
import type { Bench, Figure } from "./figures.js";
import { medianOf } from "./figures.js";
import { SERVICE_NAMES } from "../services/_shared/config.js";
import { createOrgWithAdmin } from "../services/_shared/testing/fixtures.js";
import { sleep } from "../services/_shared/testing/wait.js";
import { spawnControlPlane, startChildControlPlane } from "./control-plane.js";
import { fixedRate, saturate, type LoadResult, type LoadTarget } from "./load.js";
import { summarize } from "./stats.js";

const RUNS = Number(process.env.BENCH_API_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 5);
const FIXED_RPS = 300;
/** The hop at the issue's 2,000 rps (beyond what one process serves here: queueing) and at a rate both sustain. */
const HOP_RATES = [FIXED_RPS, 2_000];
const CONNECTIONS = 32;

function percentile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN) * 1000) / 1000;
}

function failures(r: LoadResult): number {
  return r.errors + Object.values(r.statuses).reduce((a, b) => a + b, 0);
}

async function repeat(runs: number, once: () => Promise<LoadResult>): Promise<LoadResult[]> {
  const out: LoadResult[] = [];
  for (let i = 0; i < runs; i++) out.push(await once());
  return out;
}

function latencyRows(bench: string, name: string, results: LoadResult[], goalP95?: number): Figure[] {
  const failed = results.reduce((a, r) => a + failures(r), 0);
  const note = `${results.length} runs × ${SECONDS} s${failed ? `, ${failed} failed` : ""}`;
  const of = (q: number) => medianOf(results.map((r) => percentile(r.latenciesMs, q)));
  return [
    { bench, name: `${name} p50`, unit: "ms", ...of(0.5), note },
    {
      bench,
      name: `${name} p95`,
      unit: "ms",
      ...of(0.95),
      ...(goalP95 !== undefined ? { goal: { kind: "max" as const, value: goalP95 } } : {}),
      note,
    },
    { bench, name: `${name} p99`, unit: "ms", ...of(0.99), note },
  ];
}

async function run(): Promise<Figure[]> {
  const cp = await startChildControlPlane();
  const figures: Figure[] = [];
  try {
    const org = await createOrgWithAdmin(cp.api);
    for (let i = 0; i < 20; i++) {
      const res = await cp.api.request("POST", `/v1/orgs/${org.orgId}/stacks`, {
        body: { name: `api-bench-${i}` },
        headers: org.admin.auth,
      });
      if (res.status !== 201) throw new Error(`stack: ${JSON.stringify(res.body)}`);
    }
    const token = await cp.api.request<{ token: string }>("POST", `/v1/orgs/${org.orgId}/tokens`, {
      body: { name: "bench", scopes: ["stacks:read"] },
      headers: org.admin.auth,
    });
    if (token.status !== 201) throw new Error(`token: ${JSON.stringify(token.body)}`);
    const path = `/v1/orgs/${org.orgId}/stacks`;
    const targets: Array<[string, Record<string, string>]> = [
      ["JWT", org.admin.auth],
      ["API token", { authorization: `Bearer ${token.body.token}` }],
    ];
    const at = (baseUrl: string, headers: Record<string, string>): LoadTarget => ({ url: baseUrl + path, headers });

    for (const [kind, headers] of targets) {
      const target = at(cp.baseUrl, headers);
      // Warm-up at the measured rate: at 100 rps the pool had not yet opened the Postgres connections 300 rps
      // needs, so whichever credential ran first paid for them (p95 14 ms first, 4 ms second, either way round).
      await fixedRate(target, FIXED_RPS, 3);
      const fixed = await repeat(RUNS, () => fixedRate(target, FIXED_RPS, SECONDS));
      figures.push(...latencyRows("api", `list stacks, ${kind}, ${FIXED_RPS} rps`, fixed, 10));
      const sat = await repeat(RUNS, () => saturate(target, CONNECTIONS, SECONDS));
      figures.push({
        bench: "api",
        name: `list stacks, ${kind}, saturated`,
        unit: "rps",
        ...medianOf(sat.map((r) => Math.round(r.rps))),
        goal: { kind: "min", value: 3_000 },
        note: `${CONNECTIONS} connections; p99 ${medianOf(sat.map((r) => percentile(r.latenciesMs, 0.99))).value} ms${
          sat.some(failures) ? `, ${sat.reduce((a, r) => a + failures(r), 0)} failed` : ""
        }`,
      });
    }

    // The Moleculer hop: local calls (one process) against calls over NATS (gateway alone).
    const jwt = at(cp.baseUrl, org.admin.auth);
    const local = new Map<number, LoadResult[]>();
    for (const rate of HOP_RATES) local.set(rate, await repeat(RUNS, () => fixedRate(jwt, rate, SECONDS, 128)));
    cp.child.kill("SIGTERM");
    await new Promise((r) => cp.child.once("exit", r));
    const rest = await spawnControlPlane(cp.nats, { SERVICES: SERVICE_NAMES.filter((s) => s !== "api").join(",") });
    const gateway = await spawnControlPlane(cp.nats, { SERVICES: "api" });
    try {
      await sleep(1_000);
      const split = at(gateway.baseUrl, org.admin.auth);
      await fixedRate(split, FIXED_RPS, 3);
      const p99 = (rs: LoadResult[]) => medianOf(rs.map((r) => percentile(r.latenciesMs, 0.99)));
      const p50 = (rs: LoadResult[]) => medianOf(rs.map((r) => summarize(r.latenciesMs).p50_ms!)).value;
      const achieved = (rs: LoadResult[]) => Math.round(medianOf(rs.map((r) => r.rps)).value);
      for (const rate of HOP_RATES) {
        const inProcess = local.get(rate)!;
        const overNats = await repeat(RUNS, () => fixedRate(split, rate, SECONDS, 128));
        figures.push(
          {
            bench: "api",
            name: `list stacks at ${rate} rps, one process p99`,
            unit: "ms",
            ...p99(inProcess),
            note: `gateway → service local; achieved ${achieved(inProcess)} rps`,
          },
          {
            bench: "api",
            name: `list stacks at ${rate} rps, gateway over NATS p99`,
            unit: "ms",
            ...p99(overNats),
            note: `gateway → service over NATS; achieved ${achieved(overNats)} rps`,
          },
          {
            bench: "api",
            name: `Moleculer hop over NATS at ${rate} rps p99 (difference)`,
            unit: "ms",
            value: Math.round((p99(overNats).value - p99(inProcess).value) * 1000) / 1000,
            note: `p50 difference ${Math.round((p50(overNats) - p50(inProcess)) * 1000) / 1000} ms`,
          },
        );
      }
    } finally {
      await gateway.stop();
      await rest.stop();
    }
    return figures;
  } finally {
    await cp.stop();
  }
}

export const apiBench: Bench = {
  name: "api",
  description:
    "authenticated list endpoint with a JWT and an API token: 300 rps, saturation, the NATS hop at 300 and 2,000 rps",
  run,
};

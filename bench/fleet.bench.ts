/**
 * Fleet: N agents (BENCH_FLEET_AGENTS, default 10,000) from the simulator process (bench/fleet/simulator.ts), each
 * registered through the API and connected with its own NKey and JWT, against the control plane as production
 * runs it (its own process, our NATS config, Postgres). Reported: registration rate, time until all are online,
 * the control plane's CPU and RSS and the NATS server's at steady state, heartbeat lag (the control plane's own
 * histogram), how offline detection tracks when 1,000 stop at once, and how long a reconnect storm of all of them
 * takes to be absorbed (every agent connected again and its heartbeat written).
 */
import { fork } from "node:child_process";
import { join } from "node:path";
import type { Db } from "../services/_shared/db.js";
import { REPO_ROOT } from "../services/_shared/paths.js";
import { createTestDb } from "../services/_shared/testing/database.js";
import { createOrgWithAdmin, TEST_PASSWORD } from "../services/_shared/testing/fixtures.js";
import { ContractClient } from "../services/_shared/testing/http.js";
import { freePort, startTestNatsServer } from "../services/_shared/testing/nats-server.js";
import { sleep } from "../services/_shared/testing/wait.js";
import { loadAverageFigure, medianOf, type Bench, type Figure } from "./figures.js";
import { coresBetween, MB, ProcessWatch, PRODUCTION_SERVICES, startControlPlane } from "./fleet/processes.js";
import { histogramDelta, quantileUpperBound, scrapeHistogram } from "./fleet/prometheus.js";
import type { SimulatorCommand, SimulatorReport } from "./fleet/simulator.js";

const AGENTS = Number(process.env.BENCH_FLEET_AGENTS ?? 10_000);
const STOPPED = Math.min(1_000, Math.floor(AGENTS / 10));
const CONCURRENCY = Number(process.env.BENCH_FLEET_CONCURRENCY ?? 32);
/** The control plane's default (CLUSTER_OFFLINE_AFTER_SECONDS), kept so the figure is production's. */
const OFFLINE_AFTER_SECONDS = 35;
const CPU_WINDOWS = 3;
const CPU_WINDOW_MS = 20_000;
const SIMULATOR = join(REPO_ROOT, "bench/fleet/simulator.ts");
const B = "fleet";

async function run(): Promise<Figure[]> {
  const db = await createTestDb();
  const nats = await startTestNatsServer();
  const metricsPort = await freePort();
  const cpuProfDir = process.env.BENCH_CPU_PROF_DIR;
  const cp = await startControlPlane("cp", nats, {
    services: PRODUCTION_SERVICES,
    env: {
      METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
      CLUSTER_OFFLINE_AFTER_SECONDS: String(OFFLINE_AFTER_SECONDS),
    },
    ...(cpuProfDir ? { cpuProfDir } : {}),
  });
  const cpWatch = new ProcessWatch(cp.pid);
  const natsWatch = new ProcessWatch(nats.process.pid!);
  const api = new ContractClient(cp.baseUrl);
  const org = await createOrgWithAdmin(api);
  const sim = fork(SIMULATOR, [], {
    // BENCH_SIM_CPU_PROF=<dir>: the simulator writes a V8 CPU profile there when it exits.
    execArgv: [
      "--import",
      "tsx",
      ...(process.env.BENCH_SIM_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_SIM_CPU_PROF}`] : []),
    ],
    env: {
      ...process.env,
      SIM_API_URL: cp.baseUrl,
      SIM_NATS_URL: nats.url,
      SIM_NATS_CA: nats.caPem,
      SIM_ORG_ID: org.orgId,
      SIM_ADMIN_EMAIL: org.admin.email,
      SIM_ADMIN_PASSWORD: TEST_PASSWORD,
    },
  });
  const reports: SimulatorReport[] = [];
  const waiters: Array<() => void> = [];
  sim.on("message", (r: SimulatorReport) => {
    if (r.event === "error") console.error(`[bench] fleet simulator: ${r.message}`);
    reports.push(r);
    for (const w of waiters.splice(0)) w();
  });
  // A simulator that dies must end the wait below, not leave it pending forever.
  sim.on("exit", () => {
    for (const w of waiters.splice(0)) w();
  });
  const order = (cmd: SimulatorCommand) => sim.send(cmd);
  const next = async <E extends SimulatorReport["event"]>(event: E) => {
    for (;;) {
      const found = reports.find((r) => r.event === event);
      if (found) {
        reports.splice(reports.indexOf(found), 1);
        return found as Extract<SimulatorReport, { event: E }>;
      }
      if (sim.exitCode !== null) throw new Error("the fleet simulator exited");
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const figures: Figure[] = [];
  const fig = (f: Omit<Figure, "bench">) => figures.push({ bench: B, ...f });
  try {
    // Ramp: registration through the API, then every connection, then until the control plane shows all online.
    const rampStart = performance.now();
    order({ cmd: "ramp", count: AGENTS, concurrency: CONCURRENCY });
    const ramped = await next("ramped");
    const online = await waitFor(db, "status = 'online'", AGENTS, 600_000);
    const allOnlineS = (online.at - rampStart) / 1000;
    fig({
      name: "registrations per second (create cluster + register)",
      value: round((ramped.count / ramped.registerMs) * 1000),
      unit: "/s",
      note: `${ramped.count} agents in ${round(ramped.registerMs / 1000)} s, ${CONCURRENCY} at a time`,
    });
    fig({
      name: "NATS connect, all agents",
      value: round(ramped.connectMs / 1000),
      unit: "s",
      note: `${ramped.failures} failures`,
    });
    fig({
      name: "ramp start → all online",
      value: round(allOnlineS),
      unit: "s",
      note: `${online.count} of ${AGENTS} online; includes registration`,
    });

    // Steady state: CPU over a few windows, RSS, heartbeat lag over the same time.
    await sleep(15_000);
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const lagBefore = await scrapeHistogram(metricsUrl, "stackyard_agent_heartbeat_lag_seconds");
    const cpCores: number[] = [];
    const natsCores: number[] = [];
    for (let i = 0; i < CPU_WINDOWS; i++) {
      const [c0, n0] = [cpWatch.sample()!, natsWatch.sample()!];
      await sleep(CPU_WINDOW_MS);
      const [c1, n1] = [cpWatch.sample()!, natsWatch.sample()!];
      cpCores.push(coresBetween(c0, c1));
      natsCores.push(coresBetween(n0, n1));
    }
    const lag = histogramDelta(lagBefore, await scrapeHistogram(metricsUrl, "stackyard_agent_heartbeat_lag_seconds"));
    const windows = `${CPU_WINDOWS} windows of ${CPU_WINDOW_MS / 1000} s, ${AGENTS} agents`;
    fig({ name: "control plane CPU at steady state", unit: "cores", ...rounded(medianOf(cpCores)), note: windows });
    fig({ name: "NATS server CPU at steady state", unit: "cores", ...rounded(medianOf(natsCores)), note: windows });
    fig({
      name: "control plane RSS at steady state",
      value: round(cpWatch.sample()!.rssBytes / MB),
      unit: "MB",
      goal: { kind: "max", value: 1024 },
    });
    fig({ name: "NATS server RSS at steady state", value: round(natsWatch.sample()!.rssBytes / MB), unit: "MB" });
    const lagNote = `${lag.count} heartbeats; bucket upper bound`;
    fig({ name: "heartbeat lag p50", value: quantileUpperBound(lag, 0.5) * 1000, unit: "ms", note: lagNote });
    fig({ name: "heartbeat lag p99", value: quantileUpperBound(lag, 0.99) * 1000, unit: "ms", note: lagNote });

    // Offline detection: 1,000 vanish at once; each should turn offline between threshold − 10 s (its last
    // heartbeat) and threshold + the sweep interval after the stop; none of the others may.
    order({ cmd: "stop", count: STOPPED });
    const stopped = await next("stopped");
    const detected = await watchOffline(db, stopped.clusterIds, stopped.at, (OFFLINE_AFTER_SECONDS + 90) * 1000);
    const delays = [...detected.values()].map((at) => (at - stopped.at) / 1000);
    const wrong = Number(
      (
        await db("clusters")
          .whereNotIn("id", stopped.clusterIds)
          .whereNot("status", "online")
          .count<{ count: string }[]>("* as count")
      )[0]!.count,
    );
    fig({
      name: `stop ${STOPPED} → all offline`,
      value: round(delays.length === STOPPED ? Math.max(...delays) : NaN),
      unit: "s",
      goal: { kind: "max", value: OFFLINE_AFTER_SECONDS + 30 },
      min: round(Math.min(...delays)),
      note: `threshold ${OFFLINE_AFTER_SECONDS} s; ${detected.size} of ${STOPPED} detected; min = first one`,
    });
    fig({
      name: "running agents shown offline meanwhile",
      value: wrong,
      unit: "agents",
      goal: { kind: "max", value: 0 },
    });

    // Reconnect storm: every agent drops and reconnects at the same moment (the stopped ones come back too).
    const stormAt = performance.now();
    order({ cmd: "storm" });
    const stormed = await next("stormed");
    const absorbed = await waitFor(
      db,
      `status = 'online' AND last_seen_at >= to_timestamp(${stormed.startedAt / 1000})`,
      AGENTS,
      300_000,
    );
    fig({
      name: "reconnect storm: all connected again",
      value: round(stormed.reconnectMs / 1000),
      unit: "s",
      note: `${stormed.count} of ${AGENTS}, ${stormed.failures} refused at first${stormed.failures ? ` (${stormed.firstError.slice(0, 60)})` : ""}`,
    });
    fig({
      name: "reconnect storm absorbed (all online, heartbeat written)",
      value: round((absorbed.at - stormAt) / 1000),
      unit: "s",
      goal: { kind: "max", value: 60 },
      note: `${absorbed.count} of ${AGENTS}`,
    });
    fig({
      name: "control plane peak RSS over the run",
      value: round(cpWatch.peakRss / MB),
      unit: "MB",
      goal: { kind: "max", value: 1024 },
    });
    fig({ name: "NATS server peak RSS over the run", value: round(natsWatch.peakRss / MB), unit: "MB" });
    figures.push(loadAverageFigure(B));
    return figures;
  } finally {
    cpWatch.stop();
    natsWatch.stop();
    if (sim.connected) order({ cmd: "exit" });
    await Promise.race([new Promise((r) => sim.once("exit", r)), sleep(30_000)]);
    if (sim.exitCode === null) sim.kill("SIGKILL");
    await cp.stop();
    await nats.stop();
    await db.destroy();
  }
}

/** Polls until `count` clusters match `where`; `at` is when they first did (or the deadline passed). */
async function waitFor(db: Db, where: string, count: number, timeoutMs: number) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const n = Number((await db("clusters").whereRaw(where).count<{ count: string }[]>("* as count"))[0]!.count);
    if (n >= count || performance.now() > deadline) return { at: performance.now(), count: n };
    await sleep(250);
  }
}

/** When each of `ids` was first seen offline (epoch ms), polling twice a second. */
async function watchOffline(db: Db, ids: string[], since: number, timeoutMs: number) {
  const seen = new Map<string, number>();
  while (seen.size < ids.length && Date.now() - since < timeoutMs) {
    const rows = (await db("clusters").whereIn("id", ids).where("status", "offline").select("id")) as Array<{
      id: string;
    }>;
    const now = Date.now();
    for (const r of rows) if (!seen.has(r.id)) seen.set(r.id, now);
    await sleep(500);
  }
  return seen;
}

const round = (n: number): number => Math.round(n * 100) / 100;
const rounded = (m: { value: number; min: number; max: number }) => ({
  value: round(m.value),
  min: round(m.min),
  max: round(m.max),
});

export const fleetBench: Bench = {
  name: "fleet",
  description: `${AGENTS} simulated agents against the control plane: ramp, steady state, offline detection, reconnect storm`,
  run,
};

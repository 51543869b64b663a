/**
 * Issue #18 part 7, footprint at idle: the real agent, registered and connected to a control plane and
 * heartbeating, twice side by side: as the agent image runs it (the bundle of scripts/build-agent.mjs) and from
 * its sources through tsx (a checkout's `scripts/agent.sh`); and the control plane (services/main.ts, every service
 * in one process). Each is a child process. After a settling pause, RSS is sampled every second and CPU time read
 * from /proc over the window (BENCH_FOOTPRINT_SECONDS, default 60); the figures are the median RSS (min/max) and
 * CPU % of one core.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createOrgWithAdmin } from "../services/_shared/testing/fixtures.js";
import { buildAgentBundle, prepareSwarm } from "../services/_shared/testing/swarm.js";
import { sleep } from "../services/_shared/testing/wait.js";
import { startRealAgent, type RealAgent } from "./real-agent.js";
import { startChildControlPlane } from "./control-plane.js";
import type { Bench, Figure } from "./figures.js";
import { medianOf } from "./figures.js";
import { cpuSeconds, rssMb } from "./proc.js";

const SECONDS = Number(process.env.BENCH_FOOTPRINT_SECONDS ?? 60);
const SETTLE_MS = 10_000;

type Who = "bundle" | "sources" | "controlPlane";

async function run(): Promise<Figure[]> {
  await prepareSwarm();
  const dir = await mkdtemp(join(tmpdir(), "stackyard-bench-footprint-"));
  const bundle = await buildAgentBundle(dir);
  const cp = await startChildControlPlane();
  const agents: RealAgent[] = [];
  try {
    const org = await createOrgWithAdmin(cp.api);
    // Production defaults (heartbeat, inventory): no test overrides.
    const built = await startRealAgent(cp, org, "footprint-bundle", {}, { bundle });
    agents.push(built);
    const sources = await startRealAgent(cp, org, "footprint-sources");
    agents.push(sources);
    await sleep(SETTLE_MS);
    const pids: Record<Who, number> = {
      bundle: built.process.child.pid!,
      sources: sources.process.child.pid!,
      controlPlane: cp.child.pid!,
    };
    const rss: Record<Who, number[]> = { bundle: [], sources: [], controlPlane: [] };
    const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)])) as Record<
      Who,
      number
    >;
    const t0 = performance.now();
    for (let i = 0; i < SECONDS; i++) {
      for (const who of Object.keys(pids) as Who[]) rss[who].push(rssMb(pids[who]));
      await sleep(1_000);
    }
    const elapsed = (performance.now() - t0) / 1000;
    const cpuPct = (who: Who) => Math.round(((cpuSeconds(pids[who]) - cpu0[who]) / elapsed) * 100 * 100) / 100;
    const idle = `idle, ${SECONDS} s after ${SETTLE_MS / 1000} s settling`;
    return [
      {
        bench: "footprint",
        name: "agent idle RSS (bundle, as the image runs it)",
        unit: "MB",
        ...medianOf(rss.bundle),
        goal: { kind: "max", value: 60 },
        note: `${idle}; node dist/stackyard-agent.mjs`,
      },
      {
        bench: "footprint",
        name: "agent idle CPU (bundle)",
        unit: "%",
        value: cpuPct("bundle"),
        goal: { kind: "max", value: 1 },
        note: "of one core, connected, default heartbeat",
      },
      {
        bench: "footprint",
        name: "agent idle RSS (sources through tsx)",
        unit: "MB",
        ...medianOf(rss.sources),
        note: `${idle}; node --import tsx agent/src/main.ts (scripts/agent.sh)`,
      },
      {
        bench: "footprint",
        name: "agent idle CPU (sources through tsx)",
        unit: "%",
        value: cpuPct("sources"),
        note: "of one core, connected, default heartbeat",
      },
      {
        bench: "footprint",
        name: "control plane idle RSS",
        unit: "MB",
        ...medianOf(rss.controlPlane),
        goal: { kind: "max", value: 150 },
        note: "every service in one process, gateway included",
      },
      {
        bench: "footprint",
        name: "control plane idle CPU",
        unit: "%",
        value: cpuPct("controlPlane"),
        note: "of one core, two agents connected",
      },
    ];
  } finally {
    for (const agent of agents) await agent.stop();
    await cp.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export const footprintBench: Bench = {
  name: "footprint",
  description: "idle RSS and CPU of the real agent and of the control plane, each its own process",
  run,
};

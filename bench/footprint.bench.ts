/**
 * Issue #18 part 7, footprint at idle: the real agent (agent/src/main.ts, registered and connected to a control
 * plane, heartbeating) and the control plane (services/main.ts, every service in one process), each a child
 * process. After a settling pause, RSS is sampled every second and CPU time read from /proc over the window
 * (BENCH_FOOTPRINT_SECONDS, default 60); the figures are the median RSS (min/max) and CPU % of one core.
 */
import { createOrgWithAdmin } from "../services/_shared/testing/fixtures.js";
import { prepareSwarm } from "../services/_shared/testing/swarm.js";
import { sleep } from "../services/_shared/testing/wait.js";
import { startRealAgent, type RealAgent } from "./real-agent.js";
import { startChildControlPlane } from "./control-plane.js";
import type { Bench, Figure } from "./figures.js";
import { medianOf } from "./figures.js";
import { cpuSeconds, rssMb } from "./proc.js";

const SECONDS = Number(process.env.BENCH_FOOTPRINT_SECONDS ?? 60);
const SETTLE_MS = 10_000;

async function run(): Promise<Figure[]> {
  await prepareSwarm();
  const cp = await startChildControlPlane();
  let agent: RealAgent | null = null;
  try {
    const org = await createOrgWithAdmin(cp.api);
    // Production defaults (heartbeat, inventory): no test overrides.
    agent = await startRealAgent(cp, org, "footprint");
    await sleep(SETTLE_MS);
    const pids = { agent: agent.process.child.pid!, controlPlane: cp.child.pid! };
    const rss = { agent: [] as number[], controlPlane: [] as number[] };
    const cpu0 = { agent: cpuSeconds(pids.agent), controlPlane: cpuSeconds(pids.controlPlane) };
    const t0 = performance.now();
    for (let i = 0; i < SECONDS; i++) {
      rss.agent.push(rssMb(pids.agent));
      rss.controlPlane.push(rssMb(pids.controlPlane));
      await sleep(1_000);
    }
    const elapsed = (performance.now() - t0) / 1000;
    const cpuPct = (who: "agent" | "controlPlane") =>
      Math.round(((cpuSeconds(pids[who]) - cpu0[who]) / elapsed) * 100 * 100) / 100;
    const note = `idle, ${SECONDS} s after ${SETTLE_MS / 1000} s settling; node --import tsx (no bundle)`;
    return [
      {
        bench: "footprint",
        name: "agent idle RSS",
        unit: "MB",
        ...medianOf(rss.agent),
        goal: { kind: "max", value: 60 },
        note,
      },
      {
        bench: "footprint",
        name: "agent idle CPU",
        unit: "%",
        value: cpuPct("agent"),
        goal: { kind: "max", value: 1 },
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
        note: "of one core, one agent connected",
      },
    ];
  } finally {
    await agent?.stop();
    await cp.stop();
  }
}

export const footprintBench: Bench = {
  name: "footprint",
  description: "idle RSS and CPU of the real agent and of the control plane, each its own process",
  run,
};

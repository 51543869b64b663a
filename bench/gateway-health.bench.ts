/** Gateway overhead: /healthz (no I/O) and /readyz (Postgres + NATS round trips), sequential requests. */
import { createTestDb } from "../services/_shared/testing/database.js";
import { startTestNatsServer } from "../services/_shared/testing/nats-server.js";
import { startTestPlatform } from "../services/_shared/testing/platform.js";
import type { Bench, Figure } from "./figures.js";
import { latencyFigures, timeEach } from "./stats.js";

const REQUESTS = 500;

async function run(): Promise<Figure[]> {
  const db = await createTestDb();
  const nats = await startTestNatsServer();
  const platform = await startTestPlatform(nats);
  try {
    const results: Figure[] = [];
    for (const path of ["/healthz", "/readyz"]) {
      await timeEach(50, async () => void (await (await fetch(platform.baseUrl + path)).text())); // warm-up
      const samples = await timeEach(REQUESTS, async () => {
        const res = await fetch(platform.baseUrl + path);
        await res.text();
        if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
      });
      results.push(
        ...latencyFigures("health", `gateway ${path}`, samples, { note: `${REQUESTS} sequential requests` }),
      );
    }
    const memory = process.memoryUsage();
    results.push({
      bench: "health",
      name: "bench process RSS after the run",
      value: Math.round(memory.rss / 1048576),
      unit: "MB",
    });
    return results;
  } finally {
    await platform.stop();
    await nats.stop();
    await db.destroy();
  }
}

export const healthBench: Bench = {
  name: "health",
  description: "gateway overhead: /healthz (no I/O) and /readyz (Postgres + NATS round trips)",
  run,
};

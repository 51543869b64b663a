/** Gateway overhead: /healthz (no I/O) and /readyz (Postgres + NATS round trips), sequential requests. */
import { createTestDb } from "../services/_shared/testing/database.js";
import { startTestNatsServer } from "../services/_shared/testing/nats-server.js";
import { startTestPlatform } from "../services/_shared/testing/platform.js";
import type { BenchResult } from "./run.js";
import { summarize, timeEach } from "./stats.js";

const REQUESTS = 500;

export async function healthBench(): Promise<BenchResult[]> {
  const db = await createTestDb();
  const nats = await startTestNatsServer();
  const platform = await startTestPlatform(nats);
  try {
    const results: BenchResult[] = [];
    for (const path of ["/healthz", "/readyz"]) {
      await timeEach(50, async () => void (await (await fetch(platform.baseUrl + path)).text())); // warm-up
      const samples = await timeEach(REQUESTS, async () => {
        const res = await fetch(platform.baseUrl + path);
        await res.text();
        if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
      });
      results.push({ name: `gateway ${path}`, figures: summarize(samples) });
    }
    const memory = process.memoryUsage();
    results.push({ name: "process memory after health bench", figures: { rss_mb: Math.round(memory.rss / 1048576) } });
    return results;
  } finally {
    await platform.stop();
    await nats.stop();
    await db.destroy();
  }
}

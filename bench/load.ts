/**
 * A small HTTP load generator on node:http with keep-alive connections (no extra dependency): open-loop at a fixed
 * rate (each request starts on its schedule, whether or not earlier ones returned, so slow answers are not hidden),
 * and closed-loop saturation (N connections, each sending its next request as soon as the last one answered).
 */
import { Agent, request } from "node:http";

export interface LoadResult {
  latenciesMs: number[];
  /** Completed requests per second over the run. */
  rps: number;
  errors: number;
  /** Statuses other than the expected one, by status. */
  statuses: Record<number, number>;
}

export interface LoadTarget {
  url: string;
  headers: Record<string, string>;
  expectStatus?: number;
}

function once(agent: Agent, target: LoadTarget): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(target.url, { agent, headers: target.headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

async function tally(target: LoadTarget, result: LoadResult, agent: Agent): Promise<void> {
  const start = performance.now();
  try {
    const status = await once(agent, target);
    result.latenciesMs.push(performance.now() - start);
    if (status !== (target.expectStatus ?? 200)) result.statuses[status] = (result.statuses[status] ?? 0) + 1;
  } catch {
    result.errors++;
  }
}

/** `rate` requests per second for `seconds`, over at most `connections` keep-alive sockets. */
export async function fixedRate(
  target: LoadTarget,
  rate: number,
  seconds: number,
  connections = 64,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const result: LoadResult = { latenciesMs: [], rps: 0, errors: 0, statuses: {} };
  const total = Math.round(rate * seconds);
  const inflight: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i < total;) {
    const due = Math.floor(((performance.now() - started) * rate) / 1000) + 1;
    for (; i < Math.min(due, total); i++) inflight.push(tally(target, result, agent));
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inflight);
  result.rps = result.latenciesMs.length / ((performance.now() - started) / 1000);
  agent.destroy();
  return result;
}

/** `connections` closed loops for `seconds`. */
export async function saturate(target: LoadTarget, connections: number, seconds: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const result: LoadResult = { latenciesMs: [], rps: 0, errors: 0, statuses: {} };
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) await tally(target, result, agent);
    }),
  );
  result.rps = result.latenciesMs.length / ((performance.now() - started) / 1000);
  agent.destroy();
  return result;
}

/**
 * SSE fan-out: N clients (BENCH_SSE_CLIENTS, default 10,000, in a process of their own: bench/fleet/sse-clients.ts)
 * on one gateway process, the control plane as production runs it, watching 100 running deployments while their
 * agent (the scripted stand-in of the service tests) emits output lines through JetStream. Reported: the gateway's
 * RSS with every stream open, and the latency from an agent's line to each client, per round (median over rounds,
 * with min and max).
 */
import { fork } from "node:child_process";
import { join } from "node:path";
import type { DeployStack } from "../nats/protocol/messages.js";
import { REPO_ROOT } from "../services/_shared/paths.js";
import { createTestDb } from "../services/_shared/testing/database.js";
import { startFakeAgent } from "../services/_shared/testing/fake-agent.js";
import { createOrgWithAdmin } from "../services/_shared/testing/fixtures.js";
import { ContractClient } from "../services/_shared/testing/http.js";
import { startTestNatsServer } from "../services/_shared/testing/nats-server.js";
import { sleep } from "../services/_shared/testing/wait.js";
import { loadAverageFigure, medianOf, type Bench, type Figure } from "./figures.js";
import { coresBetween, MB, ProcessWatch, PRODUCTION_SERVICES, startControlPlane } from "./fleet/processes.js";
import type { SseCommand, SseReport } from "./fleet/sse-clients.js";

const CLIENTS = Number(process.env.BENCH_SSE_CLIENTS ?? 10_000);
const DEPLOYMENTS = 100;
/** Lines per second per deployment: 100 lines/s in all, 100 × CLIENTS/100 = CLIENTS deliveries a second. */
const LINES_PER_SECOND_EACH = 1;
const ROUNDS = 3;
const ROUND_SECONDS = 10;
const CLIENT_PROCESS = join(REPO_ROOT, "bench/fleet/sse-clients.ts");
const B = "sse";

async function run(): Promise<Figure[]> {
  const db = await createTestDb();
  const nats = await startTestNatsServer();
  const gateway = await startControlPlane("gateway", nats, { services: PRODUCTION_SERVICES });
  const worker = await startControlPlane("worker", nats, { services: "deploy-worker" });
  const watch = new ProcessWatch(gateway.pid);
  const api = new ContractClient(gateway.baseUrl);
  const clients = fork(CLIENT_PROCESS, [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, SSE_BASE_URL: gateway.baseUrl },
  });
  const reports: SseReport[] = [];
  const waiters: Array<() => void> = [];
  clients.on("message", (r: SseReport) => {
    if (r.event === "error") console.error(`[bench] sse clients: ${r.message}`);
    reports.push(r);
    for (const w of waiters.splice(0)) w();
  });
  const order = (cmd: SseCommand) => clients.send(cmd);
  const next = async <E extends SseReport["event"]>(event: E) => {
    for (;;) {
      const i = reports.findIndex((r) => r.event === event);
      if (i >= 0) return reports.splice(i, 1)[0] as Extract<SseReport, { event: E }>;
      if (clients.exitCode !== null) throw new Error("the SSE client process exited");
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const figures: Figure[] = [];
  try {
    const org = await createOrgWithAdmin(api);
    const agent = await startFakeAgent(api, nats.url, { orgId: org.orgId, auth: org.admin.auth }, "sse-bench");
    const running = new Map<string, DeployStack>();
    agent.handlers.set("DeployStack", (command) => {
      const payload = command.payload as unknown as DeployStack;
      running.set(payload.deploymentId, payload);
      return { deploymentId: payload.deploymentId, status: "started" };
    });
    const stack = await api.request<{ id: string }>("POST", `/v1/orgs/${org.orgId}/stacks`, {
      body: { name: "sse-bench" },
      headers: org.admin.auth,
    });
    const release = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/releases`, {
      body: { sourceType: "upload", composeYaml: "services:\n  app:\n    image: nginx:1\n" },
      headers: org.admin.auth,
    });
    for (let i = 0; i < DEPLOYMENTS; i++) {
      const env = await api.request<{ id: string }>("POST", `/v1/stacks/${stack.body.id}/environments`, {
        body: { name: `e${i}`, clusterId: agent.clusterId },
        headers: org.admin.auth,
      });
      const dep = await api.request<{ id: string }>("POST", `/v1/environments/${env.body.id}/deployments`, {
        body: { releaseId: release.body.id },
        headers: org.admin.auth,
      });
      if (dep.status >= 300) throw new Error(`deployment not created: ${JSON.stringify(dep.body)}`);
    }
    for (const deadline = Date.now() + 120_000; running.size < DEPLOYMENTS && Date.now() < deadline;) await sleep(100);
    if (running.size < DEPLOYMENTS) throw new Error(`only ${running.size} of ${DEPLOYMENTS} deployments started`);
    const deployments = [...running.values()];

    const rssBefore = watch.sample()!.rssBytes;
    order({
      cmd: "open",
      count: CLIENTS,
      deploymentIds: deployments.map((d) => d.deploymentId),
      concurrency: 200,
      authorization: org.admin.auth.authorization!,
    });
    const opened = await next("opened");
    if (opened.failed > 0) console.error(`[bench] sse: ${opened.failed} streams refused; last: ${opened.lastError}`);
    await sleep(2_000);
    const rssOpen = watch.sample()!.rssBytes;

    const seqs = new Map(deployments.map((d) => [d.deploymentId, d.firstSeq]));
    const p99s: number[] = [];
    const p50s: number[] = [];
    const cores: number[] = [];
    let received = 0;
    for (let round = 0; round < ROUNDS; round++) {
      order({ cmd: "round" });
      await sleep(200);
      const c0 = watch.sample()!;
      const started = performance.now();
      const total = ROUND_SECONDS * LINES_PER_SECOND_EACH;
      for (let tick = 0; tick < total; tick++) {
        for (const [i, d] of deployments.entries()) {
          // Spread evenly over the second rather than 100 at once.
          const due = started + ((tick + i / DEPLOYMENTS) * 1000) / LINES_PER_SECOND_EACH;
          const wait = due - performance.now();
          if (wait > 1) await sleep(wait);
          const seq = seqs.get(d.deploymentId)!;
          seqs.set(d.deploymentId, seq + 1);
          const t = performance.timeOrigin + performance.now();
          void agent.emit(d.deploymentId, seq, `bench line ${seq} t=${t.toFixed(3)}`);
        }
      }
      await sleep(2_000);
      const c1 = watch.sample()!;
      cores.push(coresBetween(c0, c1));
      order({ cmd: "report" });
      const r = await next("round");
      received += r.received;
      p50s.push(r.summary.p50_ms!);
      p99s.push(r.summary.p99_ms!);
      console.error(
        `[bench] sse round ${round + 1}: ${r.received} deliveries, p50 ${r.summary.p50_ms} ms, p99 ${r.summary.p99_ms} ms, max ${r.summary.max_ms} ms, ${r.open} open`,
      );
    }
    const expected = ROUNDS * ROUND_SECONDS * LINES_PER_SECOND_EACH * opened.open;
    const conditions = `${opened.open} clients, ${DEPLOYMENTS} deployments, ${DEPLOYMENTS * LINES_PER_SECOND_EACH} lines/s`;
    figures.push(
      {
        bench: B,
        name: "streams opened",
        value: opened.open,
        unit: "clients",
        goal: { kind: "min", value: CLIENTS },
        note: `in ${(opened.ms / 1000).toFixed(1)} s, 200 at a time; ${opened.failed} refused`,
      },
      {
        bench: B,
        name: "gateway RSS with every stream open",
        value: Math.round(rssOpen / MB),
        unit: "MB",
        goal: { kind: "max", value: 1024 },
        note: `${Math.round(rssBefore / MB)} MB before; the production service bundle`,
      },
      {
        bench: B,
        name: "gateway peak RSS",
        value: Math.round(watch.peakRss / MB),
        unit: "MB",
        goal: { kind: "max", value: 1024 },
      },
      { bench: B, name: "gateway CPU while fanning out", unit: "cores", ...round2(medianOf(cores)), note: conditions },
      {
        bench: B,
        name: "agent line → SSE client p50",
        unit: "ms",
        ...round2(medianOf(p50s)),
        note: `${ROUNDS} rounds of ${ROUND_SECONDS} s`,
      },
      {
        bench: B,
        name: "agent line → SSE client p99",
        unit: "ms",
        ...round2(medianOf(p99s)),
        goal: { kind: "max", value: 100 },
        note: conditions,
      },
      {
        bench: B,
        name: "deliveries received",
        value: received,
        unit: "events",
        goal: { kind: "min", value: expected },
        note: `expected ${expected}`,
      },
    );
    await agent.close();
    figures.push(loadAverageFigure(B));
    return figures;
  } finally {
    watch.stop();
    if (clients.connected) order({ cmd: "exit" });
    await Promise.race([new Promise((r) => clients.once("exit", r)), sleep(10_000)]);
    if (clients.exitCode === null) clients.kill("SIGKILL");
    await gateway.stop();
    await worker.stop();
    await nats.stop();
    await db.destroy();
  }
}

const round2 = (m: { value: number; min: number; max: number }) => ({
  value: Math.round(m.value * 100) / 100,
  min: Math.round(m.min * 100) / 100,
  max: Math.round(m.max * 100) / 100,
});

export const sseFanoutBench: Bench = {
  name: "sse",
  description: `${CLIENTS} SSE clients on one gateway process watching ${DEPLOYMENTS} deployments: RSS and line latency`,
  run,
};

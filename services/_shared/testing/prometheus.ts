/**
 * A real Prometheus server for a suite (Debian's `prometheus`; scripts/deps.sh installs it with the other test
 * tools): scrapes the given targets every second, stores into a temporary directory, binds loopback only.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./nats-server.js";
import { until } from "./wait.js";

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? "/usr/bin/prometheus";

export interface ScrapeTarget {
  job: string;
  address: string;
  bearerToken?: string;
}

export interface TestPrometheus {
  url: string;
  /** An instant query's samples: labels and value. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  stop(): Promise<void>;
}

export async function startTestPrometheus(targets: ScrapeTarget[]): Promise<TestPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), "stackyard-prometheus-"));
  const port = await freePort();
  const jobs = targets.map((t) =>
    [
      `  - job_name: ${JSON.stringify(t.job)}`,
      `    scrape_interval: 1s`,
      `    scrape_timeout: 1s`,
      ...(t.bearerToken ? [`    authorization:`, `      credentials: ${JSON.stringify(t.bearerToken)}`] : []),
      `    static_configs:`,
      `      - targets: [${JSON.stringify(t.address)}]`,
    ].join("\n"),
  );
  await writeFile(join(dir, "prometheus.yml"), `global:\n  scrape_interval: 1s\nscrape_configs:\n${jobs.join("\n")}\n`);
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr?.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await until(
      "prometheus ready",
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${log}`);
        return (await fetch(`${url}/-/ready`).catch(() => null))?.ok ? true : undefined;
      },
      20_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      if (body.status !== "success") throw new Error(`query ${expr}: ${body.error ?? res.status}`);
      return (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    stop,
  };
}

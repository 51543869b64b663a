/**
 * The control plane as production runs it: `services/main.ts` in a child process of its own (every service, one
 * process), on a fresh test database and a per-run nats-server from our config. The bench process then only drives
 * load, so its own work is not counted against the gateway's event loop.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type { Db } from "../services/_shared/db.js";
import { REPO_ROOT } from "../services/_shared/paths.js";
import { createTestDb, testDatabaseUrl } from "../services/_shared/testing/database.js";
import { ContractClient } from "../services/_shared/testing/http.js";
import { freePort, startTestNatsServer, type TestNatsServer } from "../services/_shared/testing/nats-server.js";
import { TEST_BOOTSTRAP_TOKEN, TEST_JWT_KEYS, TEST_MASTER_KEY } from "../services/_shared/testing/platform.js";
import { sleep } from "../services/_shared/testing/wait.js";

export interface ChildControlPlane {
  db: Db;
  nats: TestNatsServer;
  baseUrl: string;
  api: ContractClient;
  child: ChildProcess;
  output: string[];
  stop(): Promise<void>;
}

/** One `services/main.ts` process on a given database and nats-server; `services` picks the SERVICES subset. */
export interface ControlPlaneProcess {
  child: ChildProcess;
  output: string[];
  baseUrl: string;
  stop(): Promise<void>;
}

export async function spawnControlPlane(
  nats: TestNatsServer,
  env: Record<string, string> = {},
  nodeOptions: string[] = [],
): Promise<ControlPlaneProcess> {
  const httpPort = await freePort();
  // BENCH_CPU_PROF=<dir>: the control plane writes a V8 CPU profile there when it stops (open it in DevTools).
  const profile = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = spawn(
    process.execPath,
    [...profile, ...nodeOptions, "--import", "tsx", join(REPO_ROOT, "services/main.ts")],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/root",
        DATABASE_URL: testDatabaseUrl(),
        NATS_URL: nats.url,
        NATS_WS_URL: nats.wsUrl,
        NATS_TLS_CA_FILE: nats.caFile,
        NATS_CREDS: nats.controlPlaneCredsFile,
        NATS_IDENTITY_FILE: nats.identityFile,
        NATS_SYSTEM_CREDS: nats.systemCredsFile,
        HTTP_PORT: String(httpPort),
        LOG_LEVEL: "error",
        AUTH_JWT_KEYS: TEST_JWT_KEYS,
        STACKYARD_BOOTSTRAP_TOKEN: TEST_BOOTSTRAP_TOKEN,
        CONTROLPLANE_MASTER_KEY: TEST_MASTER_KEY,
        NODE_ID: `bench-${randomUUID().slice(0, 8)}`,
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    await Promise.race([exited, sleep(15_000)]);
    if (child.exitCode === null) child.kill("SIGKILL");
  };
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  // A process without the gateway has no HTTP port: it is up once it stays up for a moment.
  const hasGateway = !env.SERVICES || env.SERVICES.split(",").includes("api");
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the control plane exited while starting:\n${output.join("\n")}`);
    if (!hasGateway) {
      await sleep(3_000);
      if (child.exitCode === null) break;
      continue;
    }
    const ready = await fetch(`${baseUrl}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the control plane did not become ready in 60 s:\n${output.join("\n")}`);
    }
    await sleep(200);
  }
  return { child, output, baseUrl, stop };
}

/** Starts NATS, the database and `services/main.ts`; resolves once /readyz answers 200. */
export async function startChildControlPlane(
  env: Record<string, string> = {},
  nodeOptions: string[] = [],
): Promise<ChildControlPlane> {
  const db = await createTestDb();
  const nats = await startTestNatsServer();
  let proc: ControlPlaneProcess;
  try {
    proc = await spawnControlPlane(nats, env, nodeOptions);
  } catch (err) {
    await nats.stop();
    await db.destroy();
    throw err;
  }
  return {
    db,
    nats,
    baseUrl: proc.baseUrl,
    api: new ContractClient(proc.baseUrl),
    child: proc.child,
    output: proc.output,
    async stop() {
      await proc.stop();
      await nats.stop();
      await db.destroy();
    },
  };
}

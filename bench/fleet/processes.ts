/**
 * The control plane as production runs it: `services/main.ts` in its own process (the services bundle, and the
 * deploy worker where a part needs deployments), against the bench's NATS server and Postgres. Plus what the
 * parts measure from outside: a process's CPU seconds and RSS, read from /proc so the bench's own work never
 * counts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../services/_shared/paths.js";
import { testDatabaseUrl } from "../../services/_shared/testing/database.js";
import { freePort, type TestNatsServer } from "../../services/_shared/testing/nats-server.js";
import { TEST_BOOTSTRAP_TOKEN, TEST_JWT_KEYS, TEST_MASTER_KEY } from "../../services/_shared/testing/platform.js";
import { sleep } from "../../services/_shared/testing/wait.js";

const MAIN = join(REPO_ROOT, "services/main.ts");
/** What production's compose file runs in the control-plane container (docker-compose.dev.yml). */
export const PRODUCTION_SERVICES = "api,auth,audit,clusters,stacks,deployments,notifications,alerts";
/** Enough descriptors for 10,000 agents or SSE clients plus headroom; the bench runs as root. */
const OPEN_FILES = 200_000;

export interface ChildProc {
  name: string;
  child: ChildProcess;
  pid: number;
  output: string[];
  exited: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Spawns a command under `bash -c 'ulimit -n …; exec …'`: the exec keeps the pid, so /proc/<pid> is the program
 * itself, and the raised descriptor limit applies to it alone.
 */
export function spawnWithFiles(
  name: string,
  argv: string[],
  env: Record<string, string>,
  stdio: "pipe" | "ipc" = "pipe",
): ChildProc {
  const quoted = argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const child = spawn("bash", ["-c", `ulimit -n ${OPEN_FILES} 2>/dev/null || true; exec ${quoted}`], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env },
    stdio: stdio === "ipc" ? ["pipe", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    name,
    child,
    pid: child.pid!,
    output,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const done = await Promise.race([exited.then(() => true), sleep(20_000).then(() => false)]);
      if (!done) {
        child.kill("SIGKILL");
        await exited;
      }
    },
  };
}

export interface ControlPlane extends ChildProc {
  port: number;
  baseUrl: string;
}

export async function startControlPlane(
  name: string,
  nats: TestNatsServer,
  options: { services: string; env?: Record<string, string>; cpuProfDir?: string },
): Promise<ControlPlane> {
  const port = await freePort();
  const node = [
    process.execPath,
    ...(options.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`] : []),
  ];
  const proc = spawnWithFiles(name, [...node, "--import", "tsx", MAIN], {
    SERVICES: options.services,
    NODE_ID: `bench-${name}`,
    DATABASE_URL: testDatabaseUrl(),
    NATS_URL: nats.url,
    NATS_WS_URL: nats.wsUrl,
    NATS_TLS_CA_FILE: nats.caFile,
    NATS_CREDS: nats.controlPlaneCredsFile,
    NATS_IDENTITY_FILE: nats.identityFile,
    NATS_SYSTEM_CREDS: nats.systemCredsFile,
    HTTP_PORT: String(port),
    CONTROLPLANE_PUBLIC_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: "error",
    AUTH_JWT_KEYS: TEST_JWT_KEYS,
    STACKYARD_BOOTSTRAP_TOKEN: TEST_BOOTSTRAP_TOKEN,
    CONTROLPLANE_MASTER_KEY: TEST_MASTER_KEY,
    ...options.env,
  });
  const cp: ControlPlane = { ...proc, port, baseUrl: `http://127.0.0.1:${port}` };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`${name} exited: ${proc.output.slice(-20).join("\n")}`);
    const res = await fetch(`${cp.baseUrl}/readyz`).catch(() => undefined);
    if (res?.status === 200) return cp;
    // A worker without the api service has no HTTP listener: alive after a while is all we can ask of it.
    if (!options.services.split(",").includes("api") && Date.now() > deadline - 110_000) return cp;
    if (Date.now() > deadline) throw new Error(`${name} not ready: ${proc.output.slice(-20).join("\n")}`);
    await sleep(300);
  }
}

const CLOCK_TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux

export interface ProcSample {
  at: number;
  cpuSeconds: number;
  rssBytes: number;
}

/** utime + stime (fields 14 and 15 of /proc/<pid>/stat) and VmRSS, or null once the process is gone. */
export function sampleProcess(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
    return { at: performance.now(), cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND, rssBytes: rssKb * 1024 };
  } catch {
    return null;
  }
}

/** Samples a process every second and keeps its peak RSS; `cores(from, to)` is its CPU use between two samples. */
export class ProcessWatch {
  peakRss = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 1_000);
    this.sample();
  }
  sample(): ProcSample | null {
    const s = sampleProcess(this.pid);
    if (s) this.peakRss = Math.max(this.peakRss, s.rssBytes);
    return s;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** CPU cores used between two samples of the same process. */
export const coresBetween = (a: ProcSample, b: ProcSample): number =>
  (b.cpuSeconds - a.cpuSeconds) / ((b.at - a.at) / 1000);

export const MB = 1_048_576;

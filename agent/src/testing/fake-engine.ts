/** An in-memory DockerEngine for unit tests: canned Swarm data, every call recorded. */
import type {
  DockerEngine,
  EngineInfo,
  LogLine,
  SwarmNode,
  SwarmSecret,
  SwarmService,
  SwarmTask,
} from "../docker/engine.js";

export const engineInfo = (overrides: Partial<EngineInfo> = {}): EngineInfo => ({
  dockerVersion: "26.1.5",
  apiVersion: "1.45",
  os: "Debian GNU/Linux 12 (bookworm)",
  arch: "x86_64",
  swarmState: "active",
  isManager: true,
  nodeId: "node-1",
  clusterId: "swarm-1",
  nodeCount: 2,
  managerCount: 1,
  ...overrides,
});

export const swarmNode = (overrides: Partial<SwarmNode> = {}): SwarmNode => ({
  id: "node-1",
  hostname: "manager-1",
  role: "manager",
  availability: "active",
  status: "ready",
  labels: { zone: "a" },
  resources: { nanoCpus: 4_000_000_000, memoryBytes: 8_589_934_592 },
  engineVersion: "26.1.5",
  address: "10.0.0.1",
  ...overrides,
});

export const swarmService = (overrides: Partial<SwarmService> = {}): SwarmService => ({
  id: "svc-1",
  name: "web_app",
  image: "registry.local/app:1.2.3@sha256:" + "0".repeat(64),
  mode: "replicated",
  desiredReplicas: 2,
  runningReplicas: 2,
  stack: "web",
  labels: { "com.docker.stack.namespace": "web" },
  env: ["DB_PASSWORD=hunter2"],
  secretNames: ["web_db_password_v3"],
  updatedAt: "2024-01-01T00:00:00Z",
  version: 7,
  ...overrides,
});

export const swarmTask = (overrides: Partial<SwarmTask> = {}): SwarmTask => ({
  id: "task-1",
  serviceId: "svc-1",
  nodeId: "node-1",
  slot: 1,
  desiredState: "running",
  state: "running",
  message: "started",
  error: null,
  exitCode: null,
  timestamp: "2024-01-01T00:00:01Z",
  ...overrides,
});

type EngineEvent = { type: string; action: string; id: string; attributes: Record<string, string> };

export class FakeEngine implements DockerEngine {
  info_: EngineInfo | Error = engineInfo();
  nodes: SwarmNode[] = [swarmNode()];
  services: SwarmService[] = [swarmService()];
  tasks: SwarmTask[] = [swarmTask()];
  calls: string[] = [];
  private emit: ((e: EngineEvent) => void) | null = null;

  async info(): Promise<EngineInfo> {
    this.calls.push("info");
    if (this.info_ instanceof Error) throw this.info_;
    return this.info_;
  }
  async listNodes(): Promise<SwarmNode[]> {
    this.calls.push("listNodes");
    return this.nodes;
  }
  async listServices(filter?: { stack?: string }): Promise<SwarmService[]> {
    this.calls.push(`listServices:${filter?.stack ?? "*"}`);
    return this.services.filter((s) => !filter?.stack || s.stack === filter.stack);
  }
  async listTasks(filter: { serviceId?: string; stack?: string }): Promise<SwarmTask[]> {
    this.calls.push(`listTasks:${filter.stack ?? filter.serviceId ?? "*"}`);
    const ids = new Set(this.services.filter((s) => !filter.stack || s.stack === filter.stack).map((s) => s.id));
    return this.tasks.filter((t) => ids.has(t.serviceId) && (!filter.serviceId || t.serviceId === filter.serviceId));
  }
  async hasImage(): Promise<boolean> {
    return false;
  }
  async listSecrets(): Promise<SwarmSecret[]> {
    return [];
  }
  async createSecret(): Promise<string> {
    throw new Error("FakeEngine.createSecret is not used by these tests");
  }
  async removeSecret(): Promise<void> {
    throw new Error("FakeEngine.removeSecret is not used by these tests");
  }
  async scaleService(): Promise<void> {
    throw new Error("FakeEngine.scaleService is not used by these tests");
  }
  async serviceLogs(): Promise<LogLine[]> {
    return [];
  }
  /** Stays open until aborted, like the real stream; `fire` delivers events to it. */
  watchEvents(onEvent: (event: EngineEvent) => void, signal: AbortSignal): Promise<void> {
    this.emit = onEvent;
    return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  }
  fire(event: EngineEvent): void {
    this.emit?.(event);
  }
}

/** An in-memory DeployEngine for unit tests: snapshots are scripted, secrets and scale calls recorded. */
import type { LogLine, SwarmSecret, SwarmService } from "../../docker/engine.js";
import type { DeployEngine, RolloutService, RolloutTask, StackSnapshot } from "../types.js";

export function fakeService(over: Partial<RolloutService> & { id: string; name: string }): RolloutService {
  return {
    image: "stackyard/busybox:test",
    mode: "replicated",
    desiredReplicas: 2,
    runningReplicas: 0,
    stack: "st",
    labels: {},
    env: [],
    secretNames: [],
    updatedAt: "2026-01-01T00:00:00Z",
    version: 1,
    updateState: null,
    updateMessage: null,
    ...over,
  };
}

let taskCounter = 0;
export function fakeTask(over: Partial<RolloutTask> & { serviceId: string }): RolloutTask {
  taskCounter++;
  return {
    id: `task${taskCounter}`,
    nodeId: "node1",
    slot: taskCounter,
    desiredState: "running",
    state: "running",
    message: "started",
    error: null,
    exitCode: null,
    timestamp: `2026-01-01T00:00:${String(taskCounter % 60).padStart(2, "0")}Z`,
    upToDate: true,
    ...over,
  };
}

export class FakeEngine implements DeployEngine {
  /** Snapshots returned by successive inspectStack calls; the last one repeats. */
  snapshots: StackSnapshot[] = [];
  inspectCalls = 0;
  secrets: SwarmSecret[] = [];
  createdSecrets: Array<{ name: string; data: string; labels: Record<string, string> }> = [];
  removedSecrets: string[] = [];
  scaleCalls: Array<{ serviceId: string; replicas: number }> = [];
  /** Services of other stacks, seen by listServices() without a filter. */
  otherServices: SwarmService[] = [];
  logLines: LogLine[] = [];
  /** inspectStack throws this once `inspectErrorAfter` calls succeeded. */
  inspectError: Error | null = null;
  inspectErrorAfter = 0;

  async info(): Promise<never> {
    throw new Error("not used");
  }
  async listNodes() {
    return [];
  }
  private current(): StackSnapshot {
    return this.snapshots[Math.min(this.inspectCalls, this.snapshots.length - 1)] ?? { services: [], tasks: [] };
  }
  async listServices(filter?: { stack?: string }): Promise<SwarmService[]> {
    const own = (this.snapshots[this.snapshots.length - 1]?.services ?? []).filter(
      (s) => !filter?.stack || s.stack === filter.stack,
    );
    return filter?.stack ? own : [...own, ...this.otherServices];
  }
  async listTasks() {
    return this.current().tasks;
  }
  /** Images this fake node has; pre-flight skips them when no credential covers their registry. */
  localImages = new Set<string>();
  async hasImage(image: string) {
    return this.localImages.has(image);
  }
  async listSecrets(filter?: { labels?: Record<string, string> }) {
    return this.secrets.filter((s) => Object.entries(filter?.labels ?? {}).every(([k, v]) => s.labels[k] === v));
  }
  async createSecret(spec: { name: string; data: Buffer; labels: Record<string, string> }) {
    const id = `sec-${spec.name}`;
    this.createdSecrets.push({ name: spec.name, data: spec.data.toString("utf8"), labels: spec.labels });
    this.secrets.push({ id, name: spec.name, labels: spec.labels, createdAt: "" });
    return id;
  }
  async removeSecret(id: string) {
    this.removedSecrets.push(id);
    this.secrets = this.secrets.filter((s) => s.id !== id);
  }
  async scaleService(serviceId: string, replicas: number) {
    this.scaleCalls.push({ serviceId, replicas });
  }
  async serviceLogs() {
    return this.logLines;
  }
  async watchEvents() {}
  async inspectStack(): Promise<StackSnapshot> {
    const snapshot = this.current();
    this.inspectCalls++;
    if (this.inspectError && this.inspectCalls > this.inspectErrorAfter) throw this.inspectError;
    return snapshot;
  }
}

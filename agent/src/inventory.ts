/**
 * The inventory: nodes, services and a per-stack summary, mapped from `DockerEngine` results. It carries a hash
 * of its content so the control plane skips unchanged ones, and the agent only sends one when it changed, on
 * (re)connect, or as a periodic resync.
 */
import { OWNERSHIP_LABELS } from "../../nats/protocol/labels.js";
import { createHash } from "node:crypto";
import { canonicalJson } from "../../nats/protocol/envelope.js";
import type { Inventory, InventoryNode, InventoryService, InventoryStack } from "../../nats/protocol/messages.js";
import type { DockerEngine, SwarmNode, SwarmService } from "./docker/engine.js";
import type { Logger } from "./logger.js";

export function toInventoryNode(node: SwarmNode): InventoryNode {
  return {
    id: node.id,
    hostname: node.hostname,
    role: node.role,
    availability: node.availability,
    status: node.status,
    labels: node.labels,
    nanoCpus: node.resources.nanoCpus,
    memoryBytes: node.resources.memoryBytes,
    engineVersion: node.engineVersion,
    address: node.address,
  };
}

/**
 * Deliberately leaves out env, labels and secret names (the control plane has them from the release), except the
 * ownership label that tells which environment a service belongs to.
 */
export function toInventoryService(service: SwarmService): InventoryService {
  return {
    id: service.id,
    name: service.name,
    image: service.image,
    mode: service.mode,
    desiredReplicas: service.desiredReplicas,
    runningReplicas: service.runningReplicas,
    stack: service.stack,
    environmentId: service.labels[OWNERSHIP_LABELS.environment] ?? null,
    updatedAt: service.updatedAt,
  };
}

export function summarizeStacks(services: InventoryService[]): InventoryStack[] {
  const stacks = new Map<string, InventoryStack>();
  for (const s of services) {
    if (s.stack === null) continue;
    const stack = stacks.get(s.stack) ?? {
      name: s.stack,
      serviceCount: 0,
      desiredReplicas: 0,
      runningReplicas: 0,
      converged: true,
    };
    stack.serviceCount++;
    stack.desiredReplicas += s.desiredReplicas;
    stack.runningReplicas += s.runningReplicas;
    if (s.runningReplicas < s.desiredReplicas) stack.converged = false;
    stacks.set(s.stack, stack);
  }
  return [...stacks.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function inventoryHash(content: Pick<Inventory, "nodes" | "services" | "stacks">): string {
  return createHash("sha256")
    .update(canonicalJson({ nodes: content.nodes, services: content.services, stacks: content.stacks }))
    .digest("hex");
}

const byId = <T extends { id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export async function collectInventory(
  engine: Pick<DockerEngine, "listNodes" | "listServices">,
  clusterId: string,
  now: number,
): Promise<Inventory> {
  const [nodes, services] = await Promise.all([engine.listNodes(), engine.listServices()]);
  const content = {
    nodes: nodes.map(toInventoryNode).sort(byId),
    services: services.map(toInventoryService).sort(byId),
    stacks: [] as InventoryStack[],
  };
  content.stacks = summarizeStacks(content.services);
  return { clusterId, collectedAt: now, hash: inventoryHash(content), ...content };
}

export interface InventoryReporterOptions {
  collect: () => Promise<Inventory>;
  publish: (inventory: Inventory) => Promise<void>;
  log: Logger;
  now: () => number;
  debounceMs: number;
  intervalMs: number;
  resyncMs: number;
}

/** Decides when to collect and send; one collection at a time, bursts of Docker events coalesced. */
export class InventoryReporter {
  private sentHash: string | null = null;
  private sentAt = 0;
  private debounceTimer: ReturnType<typeof setTimeout> | null = null;
  private intervalTimer: ReturnType<typeof setInterval> | null = null;
  private running: Promise<void> | null = null;
  private rerun: { force: boolean } | null = null;

  constructor(private readonly opts: InventoryReporterOptions) {}

  /** The hash of the last inventory the control plane received. */
  get lastHash(): string | null {
    return this.sentHash;
  }

  start(): void {
    this.intervalTimer = setInterval(() => void this.report(false), this.opts.intervalMs);
  }

  stop(): void {
    if (this.intervalTimer) clearInterval(this.intervalTimer);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.intervalTimer = null;
    this.debounceTimer = null;
  }

  /** Something changed in Docker: report once things settle. */
  trigger(): void {
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = null;
      void this.report(false);
    }, this.opts.debounceMs);
  }

  /** Collects now; sends when changed, when `force`d (after a (re)connect) or when a resync is due. */
  report(force: boolean): Promise<void> {
    if (this.running) {
      this.rerun = { force: force || (this.rerun?.force ?? false) };
      return this.running;
    }
    this.running = this.collectAndSend(force).finally(() => {
      this.running = null;
      const again = this.rerun;
      this.rerun = null;
      if (again) void this.report(again.force);
    });
    return this.running;
  }

  private async collectAndSend(force: boolean): Promise<void> {
    try {
      const inventory = await this.opts.collect();
      const due = this.opts.now() - this.sentAt >= this.opts.resyncMs;
      if (!force && !due && inventory.hash === this.sentHash) return;
      await this.opts.publish(inventory);
      this.sentHash = inventory.hash;
      this.sentAt = this.opts.now();
      this.opts.log.debug("inventory sent", {
        hash: inventory.hash,
        nodes: inventory.nodes.length,
        services: inventory.services.length,
      });
    } catch (err) {
      this.opts.log.warn("inventory not sent", { err });
    }
  }
}

/** Container starts and deaths change running counts; exec and health events (every few seconds) do not. */
const CONTAINER_ACTIONS = new Set(["create", "start", "die", "destroy", "oom"]);

export function isInventoryRelevant(event: { type: string; action: string }): boolean {
  if (event.type === "service" || event.type === "node") return true;
  return event.type === "container" && CONTAINER_ACTIONS.has(event.action);
}

import { expect } from "chai";
import sinon from "sinon";
import { validateMessage, type Inventory } from "../../nats/protocol/messages.js";
import {
  InventoryReporter,
  collectInventory,
  inventoryHash,
  isInventoryRelevant,
  summarizeStacks,
  toInventoryService,
} from "./inventory.js";
import { createLogger } from "./logger.js";
import { FakeEngine, swarmNode, swarmService } from "./testing/fake-engine.js";

const silent = createLogger({ level: "error", write: () => undefined });

describe("inventory mapping", () => {
  it("reports which environment a service belongs to, from its ownership label only", async () => {
    const engine = new FakeEngine();
    engine.services = [
      swarmService({ labels: { "io.stackyard.environment": "env-1", secret: "never sent" } }),
      swarmService({ id: "svc-2", name: "hand_app", stack: "hand", labels: {} }),
    ];
    const inventory = validateMessage("Inventory", await collectInventory(engine, "c1", 1_700_000_000_000));
    expect(inventory.services.map((s) => [s.name, s.environmentId])).to.have.deep.members([
      ["hand_app", null],
      ["web_app", "env-1"],
    ]);
    expect(JSON.stringify(inventory)).to.not.include("never sent");
  });

  it("maps nodes, services and stacks from the engine into a valid Inventory", async () => {
    const engine = new FakeEngine();
    engine.nodes = [
      swarmNode({ id: "n2", hostname: "worker-1", role: "worker", labels: {}, address: null }),
      swarmNode(),
    ];
    engine.services = [
      swarmService(),
      swarmService({ id: "svc-2", name: "web_worker", desiredReplicas: 3, runningReplicas: 1 }),
      swarmService({
        id: "svc-3",
        name: "mon_agent",
        mode: "global",
        desiredReplicas: 2,
        runningReplicas: 2,
        stack: "mon",
      }),
      swarmService({ id: "svc-4", name: "loose", stack: null }),
    ];
    const inventory = validateMessage("Inventory", await collectInventory(engine, "c1", 1_700_000_000_000));
    expect(inventory.nodes.map((n) => n.id)).to.deep.equal(["n2", "node-1"]);
    expect(inventory.nodes[1]).to.deep.equal({
      id: "node-1",
      hostname: "manager-1",
      role: "manager",
      availability: "active",
      status: "ready",
      labels: { zone: "a" },
      nanoCpus: 4_000_000_000,
      memoryBytes: 8_589_934_592,
      engineVersion: "26.1.5",
      address: "10.0.0.1",
    });
    expect(inventory.services[0]).to.deep.equal({
      id: "svc-1",
      name: "web_app",
      image: swarmService().image,
      mode: "replicated",
      desiredReplicas: 2,
      runningReplicas: 2,
      stack: "web",
      environmentId: null,
      updatedAt: "2024-01-01T00:00:00Z",
    });
    expect(inventory.stacks).to.deep.equal([
      { name: "mon", serviceCount: 1, desiredReplicas: 2, runningReplicas: 2, converged: true },
      { name: "web", serviceCount: 2, desiredReplicas: 5, runningReplicas: 3, converged: false },
    ]);
    expect(inventory.collectedAt).to.equal(1_700_000_000_000);
  });

  it("never includes service env, labels or secret names", () => {
    const mapped = toInventoryService(swarmService());
    expect(JSON.stringify(mapped)).to.not.match(/hunter2|DB_PASSWORD|web_db_password|namespace/);
  });

  it("hashes content only: same Docker state, same hash, whatever the order or time", async () => {
    const engine = new FakeEngine();
    engine.services = [swarmService(), swarmService({ id: "svc-2", name: "web_b" })];
    const a = await collectInventory(engine, "c1", 1);
    engine.services = [...engine.services].reverse();
    const b = await collectInventory(engine, "c1", 2);
    expect(a.hash).to.equal(b.hash);
    expect(a.hash).to.equal(inventoryHash(a));
    engine.services = [swarmService({ runningReplicas: 1 }), swarmService({ id: "svc-2", name: "web_b" })];
    expect((await collectInventory(engine, "c1", 3)).hash).to.not.equal(a.hash);
  });

  it("counts a stack converged only when every service runs its desired replicas", () => {
    const services = [swarmService(), swarmService({ id: "x", runningReplicas: 3 })].map(toInventoryService);
    expect(summarizeStacks(services)[0]!.converged).to.equal(true);
  });

  it("reacts to service, node and container lifecycle events, not to exec or health noise", () => {
    expect(isInventoryRelevant({ type: "service", action: "update" })).to.equal(true);
    expect(isInventoryRelevant({ type: "node", action: "update" })).to.equal(true);
    expect(isInventoryRelevant({ type: "container", action: "die" })).to.equal(true);
    expect(isInventoryRelevant({ type: "container", action: "exec_start: sh -c true" })).to.equal(false);
    expect(isInventoryRelevant({ type: "container", action: "health_status: healthy" })).to.equal(false);
    expect(isInventoryRelevant({ type: "secret", action: "create" })).to.equal(false);
  });
});

describe("InventoryReporter", () => {
  let clock: sinon.SinonFakeTimers;
  let engine: FakeEngine;
  let sent: Inventory[];
  let reporter: InventoryReporter;

  beforeEach(() => {
    clock = sinon.useFakeTimers({
      now: 1_000_000,
      toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
    });
    engine = new FakeEngine();
    sent = [];
    reporter = new InventoryReporter({
      collect: () => collectInventory(engine, "c1", Date.now()),
      publish: async (inv) => void sent.push(inv),
      log: silent,
      now: () => Date.now(),
      debounceMs: 2_000,
      intervalMs: 60_000,
      resyncMs: 600_000,
    });
  });
  afterEach(() => {
    reporter.stop();
    clock.restore();
  });

  it("sends on a forced report, then periodically only when the content changed", async () => {
    reporter.start();
    await reporter.report(true);
    expect(sent).to.have.length(1);
    await clock.tickAsync(60_000);
    expect(sent).to.have.length(1);
    engine.services = [swarmService({ runningReplicas: 1 })];
    await clock.tickAsync(60_000);
    expect(sent).to.have.length(2);
    expect(reporter.lastHash).to.equal(sent[1]!.hash);
  });

  it("coalesces a burst of Docker events into one collection after the debounce", async () => {
    await reporter.report(true);
    const collections = () => engine.calls.filter((c) => c === "listNodes").length;
    const before = collections();
    engine.services = [swarmService({ runningReplicas: 0 })];
    for (let i = 0; i < 20; i++) {
      reporter.trigger();
      await clock.tickAsync(100);
    }
    expect(collections()).to.equal(before);
    await clock.tickAsync(2_000);
    expect(collections()).to.equal(before + 1);
    expect(sent).to.have.length(2);
  });

  it("resends an unchanged inventory once the resync interval has passed", async () => {
    reporter.start();
    await reporter.report(true);
    await clock.tickAsync(540_000);
    expect(sent).to.have.length(1);
    await clock.tickAsync(60_000);
    expect(sent).to.have.length(2);
  });

  it("keeps the last sent hash when publishing fails, so the next report retries", async () => {
    const failing = new InventoryReporter({
      collect: () => collectInventory(engine, "c1", Date.now()),
      publish: async () => {
        throw new Error("not connected");
      },
      log: silent,
      now: () => Date.now(),
      debounceMs: 2_000,
      intervalMs: 60_000,
      resyncMs: 600_000,
    });
    await failing.report(true);
    expect(failing.lastHash).to.equal(null);
  });
});

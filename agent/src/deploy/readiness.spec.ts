import { expect } from "chai";
import { assessStack, takeBaseline, waitForConvergence, type ServiceAssessment } from "./convergence.js";
import { readinessHold, ReadinessTracker } from "./readiness.js";
import { fakeService, fakeTask } from "./testing/fake-engine.js";
import type { DeployEvent, RolloutService, StackSnapshot } from "./types.js";

const none = takeBaseline({ services: [], tasks: [] });
const DEFAULT_MS = 5_000;

function assessed(over: Partial<RolloutService> = {}): ServiceAssessment {
  const snapshot: StackSnapshot = {
    services: [fakeService({ id: "s1", name: "st_web", ...over })],
    tasks: [fakeTask({ serviceId: "s1" }), fakeTask({ serviceId: "s1" })],
  };
  return assessStack(snapshot, none).services[0]!;
}

describe("readinessHold", () => {
  const grace = new Map([["st_web", 12_000]]);

  it("a healthchecked service is ready at once, or after its declared grace", () => {
    expect(readinessHold(assessed({ healthcheck: true }), { defaultMs: DEFAULT_MS })).to.deep.equal({
      holdMs: 0,
      reason: "healthcheck",
    });
    expect(readinessHold(assessed({ healthcheck: true }), { defaultMs: DEFAULT_MS, graceMs: grace })).to.deep.equal({
      holdMs: 12_000,
      reason: "healthcheck_grace",
    });
  });

  it("an image's HEALTHCHECK counts unless the spec turns it off", () => {
    const images = new Set(["stackyard/busybox:test"]);
    expect(readinessHold(assessed(), { defaultMs: DEFAULT_MS, healthcheckedImages: images }).reason).to.equal(
      "healthcheck",
    );
    expect(
      readinessHold(assessed({ healthcheckDisabled: true }), { defaultMs: DEFAULT_MS, healthcheckedImages: images }),
    ).to.deep.equal({ holdMs: DEFAULT_MS, reason: "default_window" });
  });

  it("a service without a healthcheck waits its declared grace, else the default window", () => {
    expect(readinessHold(assessed(), { defaultMs: DEFAULT_MS, graceMs: grace })).to.deep.equal({
      holdMs: 12_000,
      reason: "grace",
    });
    expect(readinessHold(assessed(), { defaultMs: DEFAULT_MS, graceMs: new Map([["st_web", 0]]) })).to.deep.equal({
      holdMs: 0,
      reason: "grace",
    });
    expect(readinessHold(assessed(), { defaultMs: DEFAULT_MS, graceMs: new Map([["st_db", 1]]) })).to.deep.equal({
      holdMs: DEFAULT_MS,
      reason: "default_window",
    });
  });

  it("a completed Swarm rolling update needs no window, but a declared grace still holds it", () => {
    expect(readinessHold(assessed({ updateState: "completed" }), { defaultMs: DEFAULT_MS })).to.deep.equal({
      holdMs: 0,
      reason: "rolling_update",
    });
    expect(
      readinessHold(assessed({ updateState: "completed" }), { defaultMs: DEFAULT_MS, graceMs: grace }).holdMs,
    ).to.equal(12_000);
  });
});

describe("ReadinessTracker", () => {
  it("says what it waits for when a service converges, and when the wait is over", () => {
    const tracker = new ReadinessTracker({ defaultMs: DEFAULT_MS, graceMs: new Map([["st_web", 3_000]]) });
    const web = assessed();
    const first = tracker.next([web], 1_000);
    expect(first.allReady).to.equal(false);
    expect(first.events.map((e) => e.message)).to.deep.equal([
      "service st_web: running as desired (no healthcheck); checking it stays up for its health grace of 3s (stackyard.yaml)",
    ]);
    expect(first.events[0]?.data).to.deep.equal({ service: "st_web", reason: "grace", holdMs: 3_000 });
    expect(tracker.next([web], 3_999)).to.deep.equal({ events: [], allReady: false });
    expect(tracker.holding([web], 3_999)).to.deep.equal([{ service: "st_web", heldMs: 2_999, holdMs: 3_000 }]);
    const done = tracker.next([web], 4_000);
    expect(done.allReady).to.equal(true);
    expect(done.events.map((e) => e.message)).to.deep.equal([
      "service st_web: stayed up for its health grace of 3s; ready",
    ]);
    expect(tracker.holding([web], 4_000)).to.deep.equal([]);
  });

  it("starts a service's hold again when it stops running as desired during it", () => {
    const tracker = new ReadinessTracker({ defaultMs: DEFAULT_MS });
    const web = assessed();
    const down = assessed({ desiredReplicas: 3 });
    expect(down.converged).to.equal(false);
    tracker.next([web], 0);
    tracker.next([down], 4_000);
    const again = tracker.next([web], 6_000);
    expect(again.allReady).to.equal(false);
    expect(again.events[0]?.message).to.match(/no health grace declared\); checking it stays up for 5s$/);
    expect(tracker.next([web], 10_999).allReady).to.equal(false);
    expect(tracker.next([web], 11_000).allReady).to.equal(true);
  });

  it("holds each service for its own time: the stack is ready when the last hold ends", () => {
    const api = { ...assessed({ healthcheck: true }), serviceId: "s2" };
    api.health = { ...api.health, name: "st_api" };
    const web = assessed();
    const tracker = new ReadinessTracker({ defaultMs: DEFAULT_MS, graceMs: new Map([["st_web", 1_000]]) });
    const first = tracker.next([api, web], 0);
    expect(first.events.map((e) => e.message)).to.deep.equal([
      "service st_api: tasks healthy (healthcheck passed); ready",
      "service st_web: running as desired (no healthcheck); checking it stays up for its health grace of 1s (stackyard.yaml)",
    ]);
    expect(first.allReady).to.equal(false);
    expect(tracker.next([api, web], 1_000).allReady).to.equal(true);
  });
});

describe("waitForConvergence with a declared health grace", () => {
  const run = async (snapshotOver: Partial<RolloutService>, graceMs?: Map<string, number>) => {
    let clock = 0;
    let polls = 0;
    const events: DeployEvent[] = [];
    const snapshot: StackSnapshot = {
      services: [fakeService({ id: "s1", name: "st_web", ...snapshotOver })],
      tasks: [fakeTask({ serviceId: "s1" }), fakeTask({ serviceId: "s1" })],
    };
    const result = await waitForConvergence(
      {
        inspectStack: async () => {
          polls++;
          clock += 1_000;
          return snapshot;
        },
      },
      {
        stack: "st",
        baseline: none,
        emit: (e) => events.push(e),
        signal: new AbortController().signal,
        pollIntervalMs: 1,
        stabilizationMs: DEFAULT_MS,
        now: () => clock,
        quietProgressMs: 0,
        ...(graceMs ? { healthGraceMs: graceMs } : {}),
      },
    );
    expect(result.outcome).to.equal("converged");
    return { polls, events };
  };

  it("a short grace ends the wait sooner than the default window, a long one holds it longer", async () => {
    // one poll a second: the first converged poll starts the hold, which ends on the poll `hold` seconds later
    expect((await run({})).polls).to.equal(6);
    expect((await run({}, new Map([["st_web", 2_000]]))).polls).to.equal(3);
    expect((await run({}, new Map([["st_web", 0]]))).polls).to.equal(1);
    expect((await run({}, new Map([["st_web", 9_000]]))).polls).to.equal(10);
  });

  it("a healthchecked service is ready at its first healthy poll, or waits its grace on top", async () => {
    expect((await run({ healthcheck: true })).polls).to.equal(1);
    const held = await run({ healthcheck: true }, new Map([["st_web", 4_000]]));
    expect(held.polls).to.equal(5);
    expect(held.events.map((e) => e.message)).to.include.members([
      "service st_web: tasks healthy (healthcheck passed); waiting its health grace of 4s (stackyard.yaml)",
      "service st_web: stayed up for its health grace of 4s; ready",
    ]);
  });

  it("the quiet-stretch line names the services still held and for how long", async () => {
    let clock = 0;
    const events: DeployEvent[] = [];
    const snapshot: StackSnapshot = {
      services: [fakeService({ id: "s1", name: "st_web" })],
      tasks: [fakeTask({ serviceId: "s1" }), fakeTask({ serviceId: "s1" })],
    };
    await waitForConvergence(
      { inspectStack: async () => ((clock += 1_000), snapshot) },
      {
        stack: "st",
        baseline: none,
        emit: (e) => events.push(e),
        signal: new AbortController().signal,
        pollIntervalMs: 1,
        now: () => clock,
        quietProgressMs: 3_000,
        healthGraceMs: new Map([["st_web", 10_000]]),
      },
    );
    expect(events.map((e) => e.message)).to.include(
      "all 1 service(s) running as desired; checking they stay up (st_web 3s of 10s)",
    );
  });
});

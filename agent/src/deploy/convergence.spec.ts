import { expect } from "chai";
import { assessStack, describeTask, ProgressTracker, takeBaseline, waitForConvergence } from "./convergence.js";
import type { DeployEvent } from "./types.js";
import { fakeService, fakeTask } from "./testing/fake-engine.js";
import type { StackSnapshot } from "./types.js";

const none = takeBaseline({ services: [], tasks: [] });
const svc = fakeService({ id: "s1", name: "st_web", desiredReplicas: 2 });

describe("assessStack", () => {
  it("is converged when the current spec runs the desired replicas", () => {
    const snap: StackSnapshot = {
      services: [svc],
      tasks: [fakeTask({ serviceId: "s1" }), fakeTask({ serviceId: "s1" })],
    };
    const a = assessStack(snap, none);
    expect(a.converged).to.equal(true);
    expect(a.failure).to.equal(null);
    expect(a.services[0]?.health).to.deep.equal({
      name: "st_web",
      desired: 2,
      running: 2,
      image: "stackyard/busybox:test",
      healthy: true,
    });
  });

  it("does not count tasks of an older spec, and waits while one still runs", () => {
    const snap: StackSnapshot = {
      services: [svc],
      tasks: [
        fakeTask({ serviceId: "s1" }),
        fakeTask({ serviceId: "s1", upToDate: false }),
        fakeTask({ serviceId: "s1", upToDate: false, desiredState: "shutdown" }),
      ],
    };
    const a = assessStack(snap, none);
    expect(a.services[0]?.health.running).to.equal(1);
    expect(a.converged).to.equal(false);
    // right after `docker stack deploy`: the old tasks still run, no new task exists yet
    const stale: StackSnapshot = {
      services: [svc],
      tasks: [fakeTask({ serviceId: "s1", upToDate: false }), fakeTask({ serviceId: "s1", upToDate: false })],
    };
    expect(assessStack(stale, none).converged).to.equal(false);
  });

  it("waits while Swarm's rolling update is in progress", () => {
    const updating = fakeService({ id: "s1", name: "st_web", updateState: "updating" });
    const snap: StackSnapshot = {
      services: [updating],
      tasks: [fakeTask({ serviceId: "s1" }), fakeTask({ serviceId: "s1" })],
    };
    expect(assessStack(snap, none).converged).to.equal(false);
    const done = fakeService({ id: "s1", name: "st_web", updateState: "completed" });
    expect(assessStack({ ...snap, services: [done] }, none).converged).to.equal(true);
  });

  it("a healthchecked service converges once every task was replaced by a healthy one, before Swarm's monitor ends", () => {
    const tasks = [fakeTask({ serviceId: "s1" }), fakeTask({ serviceId: "s1" })];
    const inSpec = fakeService({ id: "s1", name: "st_web", updateState: "updating", healthcheck: true });
    expect(assessStack({ services: [inSpec], tasks }, none).converged).to.equal(true);
    // the image's HEALTHCHECK counts too, unless the spec turns it off
    const plain = fakeService({ id: "s1", name: "st_web", updateState: "updating" });
    const images = new Set([plain.image]);
    expect(assessStack({ services: [plain], tasks }, none, { healthcheckedImages: images }).converged).to.equal(true);
    const off = { ...plain, healthcheckDisabled: true };
    expect(assessStack({ services: [off], tasks }, none, { healthcheckedImages: images }).converged).to.equal(false);
    // an old task still running holds it back, and a rollback always runs to its end
    const stale = [...tasks, fakeTask({ serviceId: "s1", upToDate: false })];
    expect(assessStack({ services: [inSpec], tasks: stale }, none).converged).to.equal(false);
    const rollingBack = { ...inSpec, updateState: "rollback_started" as const };
    expect(assessStack({ services: [rollingBack], tasks }, none).converged).to.equal(false);
  });

  it("fails after 3 failed tasks of the current spec while running < desired, not before", () => {
    const failed = (over = {}) =>
      fakeTask({
        serviceId: "s1",
        state: "failed",
        desiredState: "shutdown",
        error: "task: non-zero exit (1)",
        exitCode: 1,
        ...over,
      });
    const two: StackSnapshot = {
      services: [svc],
      tasks: [failed(), failed(), fakeTask({ serviceId: "s1", state: "starting" })],
    };
    expect(assessStack(two, none).failure).to.equal(null);
    const three: StackSnapshot = { ...two, tasks: [...two.tasks, failed()] };
    // the headline leads with the task's own error; the count is context
    expect(assessStack(three, none).failure).to.match(
      /^service st_web: task: non-zero exit \(1\) \(task \d+ failed; 3 tasks failed since the deploy started\)$/,
    );
    // an old spec's failures do not count
    const oldSpec: StackSnapshot = { ...two, tasks: [...two.tasks, failed({ upToDate: false })] };
    expect(assessStack(oldSpec, none).failure).to.equal(null);
    // nor do failures when all replicas run anyway
    const healthy: StackSnapshot = {
      services: [svc],
      tasks: [failed(), failed(), failed(), fakeTask({ serviceId: "s1" }), fakeTask({ serviceId: "s1" })],
    };
    expect(assessStack(healthy, none).failure).to.equal(null);
  });

  it("counts a task that exited with code 0 as failed (replicated tasks must keep running)", () => {
    const exited = () =>
      fakeTask({ serviceId: "s1", state: "complete", desiredState: "shutdown", exitCode: 0, message: "finished" });
    const a = assessStack({ services: [svc], tasks: [exited(), exited(), exited()] }, none);
    expect(a.failure).to.include("exited with code 0");
  });

  it("counts a task alive at the baseline that failed afterwards", () => {
    const t = fakeTask({ serviceId: "s1", state: "running" });
    const baseline = takeBaseline({ services: [svc], tasks: [t] });
    const later = [
      { ...t, state: "failed", error: "oom" },
      fakeTask({ serviceId: "s1", state: "failed", error: "oom" }),
      fakeTask({ serviceId: "s1", state: "rejected", error: "No such image" }),
    ];
    expect(assessStack({ services: [svc], tasks: later }, baseline).services[0]?.failedTasks).to.have.length(3);
  });

  it("fails when Swarm rolled the update back", () => {
    const rolledBack = fakeService({
      id: "s1",
      name: "st_web",
      updateState: "rollback_completed",
      updateMessage: "rollback completed",
    });
    // no failed task to blame: Swarm's message is the only account there is
    expect(assessStack({ services: [rolledBack], tasks: [] }, none).failure).to.equal(
      "service st_web: Swarm rolled the update back: rollback completed",
    );
    // with one: its error, though it ran the spec Swarm rolled away from
    const crashed = fakeTask({
      serviceId: "s1",
      upToDate: false,
      state: "failed",
      desiredState: "shutdown",
      error: "task: non-zero exit (1)",
      exitCode: 1,
      slot: 2,
    });
    expect(assessStack({ services: [rolledBack], tasks: [crashed] }, none).failure).to.equal(
      "service st_web: task: non-zero exit (1) (task 2 failed; Swarm rolled the update back)",
    );
  });

  it("names the root cause of a paused update: the error of the task Swarm's message names", () => {
    const rejected = fakeTask({
      id: "b1ldol30hw6gq0zq8v3e2c1xy",
      serviceId: "s1",
      state: "rejected",
      desiredState: "shutdown",
      error: "No such image: local/doesnotexist:9",
      slot: 1,
    });
    const older = fakeTask({
      serviceId: "s1",
      state: "failed",
      desiredState: "shutdown",
      error: "something else",
      timestamp: "2030-01-01T00:00:00Z",
    });
    const paused = fakeService({
      id: "s1",
      name: "st_web",
      updateState: "paused",
      updateMessage: "update paused due to failure or early termination of task b1ldol30hw6gq0zq8v3e2c1xy",
    });
    const a = assessStack({ services: [paused], tasks: [older, rejected, fakeTask({ serviceId: "s1" })] }, none);
    expect(a.failure).to.equal(
      "service st_web: No such image: local/doesnotexist:9 (task 1 rejected; Swarm paused the update)",
    );
    expect(a.failure).not.to.include("b1ldol30");
    expect(a.services[0]?.health.updateState).to.equal("paused");
    // Swarm's message names no task we can see: the newest failure since the baseline stands in
    const unnamed = { ...paused, updateMessage: "update paused due to failure" };
    expect(assessStack({ services: [unnamed], tasks: [rejected] }, none).failure).to.equal(
      "service st_web: No such image: local/doesnotexist:9 (task 1 rejected; Swarm paused the update)",
    );
  });

  it("does not wait for an old task Swarm still lists as running on a lost node", () => {
    const web = fakeService({ id: "s1", name: "st_web", desiredReplicas: 1 });
    const current = fakeTask({ serviceId: "s1", state: "running" });
    const old = fakeTask({ serviceId: "s1", state: "running", desiredState: "shutdown", upToDate: false });
    const none = takeBaseline({ services: [web], tasks: [] });
    expect(assessStack({ services: [web], tasks: [current, old] }, none).converged).to.equal(false);
    expect(assessStack({ services: [web], tasks: [current, { ...old, nodeLost: true }] }, none).converged).to.equal(
      true,
    );
  });

  it("adds the failed task's own error (and node) to Swarm's paused-update message, which names a task id only", () => {
    const paused = fakeService({
      id: "s1",
      name: "st_web",
      updateState: "paused",
      updateMessage: "update paused due to failure or early termination of task abc",
    });
    const rejected = fakeTask({
      serviceId: "s1",
      slot: 3,
      state: "rejected",
      error: "No such image: app:2",
      nodeHostname: "worker-1",
    });
    expect(assessStack({ services: [paused], tasks: [rejected] }, none).failure).to.equal(
      "service st_web: No such image: app:2 (task 3 rejected on node worker-1; Swarm paused the update)",
    );
  });

  it("reports the scheduler's reason for pending tasks as the last error", () => {
    const pending = fakeTask({
      serviceId: "s1",
      state: "pending",
      error: "no suitable node (scheduling constraints not satisfied on 1 node)",
    });
    const a = assessStack({ services: [svc], tasks: [pending] }, none);
    expect(a.services[0]?.health.lastError).to.equal(
      "no suitable node (scheduling constraints not satisfied on 1 node)",
    );
    expect(a.services[0]?.pendingErrors).to.have.length(1);
  });

  it("restricts to the given services", () => {
    const other = fakeService({ id: "s2", name: "st_db", desiredReplicas: 1 });
    const snap: StackSnapshot = {
      services: [svc, other],
      tasks: [fakeTask({ serviceId: "s1" }), fakeTask({ serviceId: "s1" })],
    };
    expect(assessStack(snap, none).converged).to.equal(false);
    expect(assessStack(snap, none, { serviceIds: new Set(["s1"]) }).converged).to.equal(true);
  });
});

describe("describeTask", () => {
  it("names the node a task failed on when the snapshot knows it", () => {
    const rejected = { serviceId: "s1", slot: 2, state: "rejected", error: "No such image: app:1" };
    expect(describeTask(fakeTask({ ...rejected, nodeHostname: "worker-2" }))).to.equal(
      "task 2 rejected on node worker-2: No such image: app:1",
    );
    expect(describeTask(fakeTask({ ...rejected, nodeHostname: null }))).to.equal(
      "task 2 rejected: No such image: app:1",
    );
  });
});

describe("ProgressTracker", () => {
  it("emits replica counts, task failures and update states only when they change", () => {
    const tracker = new ProgressTracker();
    const failed = fakeTask({ serviceId: "s1", state: "failed", error: "boom", exitCode: 2 });
    const snap: StackSnapshot = {
      services: [fakeService({ id: "s1", name: "st_web", updateState: "updating" })],
      tasks: [failed, fakeTask({ serviceId: "s1" })],
    };
    const first = tracker.next(assessStack(snap, none)).map((e) => e.message);
    const running = snap.tasks[1]!;
    expect(first).to.deep.equal([
      `service st_web: new task ${running.slot} running on node1`,
      "service st_web: 1/2 replicas running",
      `service st_web: task ${failed.slot} failed: boom (exit code 2)`,
      "service st_web: update updating",
    ]);
    expect(tracker.next(assessStack(snap, none))).to.deep.equal([]);
  });

  it("reports task-level progress of a rolling update, per node, and nothing for tasks unchanged since the baseline", () => {
    const service = fakeService({ id: "s1", name: "st_web", desiredReplicas: 2, updateState: "updating" });
    const untouched = fakeTask({ id: "t-untouched", serviceId: "s1", slot: 2, upToDate: false, nodeId: "n2" });
    const old = fakeTask({ id: "t-old", serviceId: "s1", slot: 1, upToDate: false, nodeId: "n1" });
    const baseline = takeBaseline({ services: [service], tasks: [old, untouched] });
    const tracker = new ProgressTracker(baseline);
    const nodeNames = { n1: "manager-1", n2: "worker-2" };
    const step = (tasks: StackSnapshot["tasks"]) =>
      tracker.next(assessStack({ services: [service], tasks, nodeNames }, baseline)).map((e) => e.message);

    expect(step([old, untouched])).to.deep.equal([
      "service st_web: 0/2 replicas running",
      "service st_web: update updating",
    ]);
    const stopping = { ...old, desiredState: "shutdown" };
    const fresh = fakeTask({ id: "t-new", serviceId: "s1", slot: 1, state: "preparing", nodeId: "n1" });
    expect(step([stopping, fresh, untouched])).to.deep.equal([
      "service st_web: old task 1 stopping on manager-1",
      "service st_web: new task 1 starting (preparing) on manager-1",
    ]);
    expect(step([{ ...stopping, state: "shutdown" }, { ...fresh, state: "running" }, untouched])).to.deep.equal([
      "service st_web: old task 1 stopped on manager-1",
      "service st_web: new task 1 running on manager-1",
      "service st_web: 1/2 replicas running",
    ]);
    // Swarm's stop-first order: the next slot's new task is prepared up to "ready" while its old task stops
    const next = fakeTask({
      id: "t-next",
      serviceId: "s1",
      slot: 2,
      state: "ready",
      desiredState: "ready",
      nodeId: "n2",
    });
    expect(step([{ ...stopping, state: "shutdown" }, { ...fresh, state: "running" }, untouched, next])).to.deep.equal([
      "service st_web: new task 2 ready, waiting for the old task to stop on worker-2",
    ]);
    const settled = [{ ...fresh, state: "running" }, untouched];
    expect(tracker.next(assessStack({ services: [service], tasks: settled, nodeNames }, baseline))).to.deep.equal([]);
  });
});

describe("waitForConvergence", () => {
  const converged = (updateState: "completed" | null): StackSnapshot => ({
    services: [fakeService({ id: "s1", name: "st_web", updateState })],
    tasks: [fakeTask({ serviceId: "s1" }), fakeTask({ serviceId: "s1" })],
  });

  it("holds a fresh convergence for the stabilisation period, but not a completed rolling update", async () => {
    for (const [updateState, expectedPolls] of [
      [null, 3],
      ["completed", 1],
    ] as const) {
      let polls = 0;
      const inspector = {
        inspectStack: async () => {
          polls++;
          return converged(updateState);
        },
      };
      const result = await waitForConvergence(inspector, {
        stack: "st",
        baseline: none,
        emit: () => undefined,
        signal: new AbortController().signal,
        pollIntervalMs: 1,
        stabilizationMs: 20,
        now: () => polls * 10,
      });
      expect(result.outcome).to.equal("converged");
      expect(polls, `updateState ${updateState}`).to.equal(expectedPolls);
    }
  });

  it("does not wait out the stabilisation period for services whose spec declares a healthcheck", async () => {
    let polls = 0;
    const snapshot = (healthcheck: boolean): StackSnapshot => ({
      services: [fakeService({ id: "s1", name: "st_web", healthcheck })],
      tasks: [fakeTask({ serviceId: "s1" }), fakeTask({ serviceId: "s1" })],
    });
    for (const [healthcheck, expectedPolls] of [
      [true, 1],
      [false, 3],
    ] as const) {
      polls = 0;
      const result = await waitForConvergence(
        { inspectStack: async () => (polls++, snapshot(healthcheck)) },
        {
          stack: "st",
          baseline: none,
          emit: () => undefined,
          signal: new AbortController().signal,
          pollIntervalMs: 1,
          stabilizationMs: 20,
          now: () => polls * 10,
        },
      );
      expect(result.outcome).to.equal("converged");
      expect(polls, `healthcheck ${healthcheck}`).to.equal(expectedPolls);
    }
  });

  it("skips the wait for an image's own HEALTHCHECK too, unless the spec turns it off", async () => {
    const run = async (over: { healthcheckDisabled?: boolean }, images: ReadonlySet<string>) => {
      let polls = 0;
      const snapshot: StackSnapshot = {
        services: [fakeService({ id: "s1", name: "st_web", ...over })],
        tasks: [fakeTask({ serviceId: "s1" }), fakeTask({ serviceId: "s1" })],
      };
      await waitForConvergence(
        { inspectStack: async () => (polls++, snapshot) },
        {
          stack: "st",
          baseline: none,
          emit: () => undefined,
          signal: new AbortController().signal,
          pollIntervalMs: 1,
          stabilizationMs: 20,
          now: () => polls * 10,
          healthcheckedImages: images,
        },
      );
      return polls;
    };
    const image = new Set(["stackyard/busybox:test"]);
    expect(await run({}, image)).to.equal(1);
    expect(await run({ healthcheckDisabled: true }, image)).to.equal(3);
    expect(await run({}, new Set(["other:1"]))).to.equal(3);
  });

  it("never stays silent: a quiet stretch of the wait says what it is still waiting for", async () => {
    let clock = 0;
    const events: DeployEvent[] = [];
    const pending: StackSnapshot = {
      services: [fakeService({ id: "s1", name: "st_web", desiredReplicas: 2, updateState: "updating" })],
      tasks: [
        fakeTask({ serviceId: "s1" }),
        fakeTask({ serviceId: "s1", slot: 7, upToDate: false, desiredState: "shutdown" }),
      ],
    };
    const controller = new AbortController();
    let polls = 0;
    const result = await waitForConvergence(
      {
        inspectStack: async () => {
          clock += 1_000;
          if (++polls === 8) controller.abort();
          return pending;
        },
      },
      {
        stack: "st",
        baseline: none,
        emit: (e) => events.push(e),
        signal: controller.signal,
        pollIntervalMs: 1,
        quietProgressMs: 3_000,
        now: () => clock,
      },
    );
    expect(result.outcome).to.equal("aborted");
    const waiting = events.filter((e) => e.message.startsWith("still waiting"));
    expect(waiting.map((e) => e.message)).to.deep.equal([
      "still waiting: st_web 1/2 running, update updating, old task 7 stopping",
      "still waiting: st_web 1/2 running, update updating, old task 7 stopping",
    ]);
    // the gaps between lines never exceed the quiet period
    expect(events.length).to.be.greaterThan(2);
  });
});

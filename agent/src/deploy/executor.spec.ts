import { expect } from "chai";
import { DockerCliError, type DockerCli, type StackDeployOptions } from "../docker/cli.js";
import { runDeployment, type DeployDeps } from "./executor.js";
import { FakeEngine, fakeService, fakeTask } from "./testing/fake-engine.js";
import type { DeployEvent, DeployRequest, StackSnapshot } from "./types.js";

const SECRET_VALUE = "s3cr3t-value-never-in-events";

function request(over: Partial<DeployRequest> = {}): DeployRequest {
  return {
    deploymentId: "dep-1",
    stackName: "st",
    composeYaml: "services: {}\n",
    env: { GREETING: "hello" },
    secrets: [],
    registryLogins: [],
    labels: {},
    adopt: false,
    keepSecretVersions: 1,
    prune: true,
    resolveImage: "never",
    withRegistryAuth: true,
    timeoutSeconds: 5,
    ...over,
  };
}

class FakeCli implements DockerCli {
  calls: StackDeployOptions[] = [];
  lines: Array<{ stream: "stdout" | "stderr"; line: string }> = [];
  failWith: Error | null = null;
  /** When set, stackDeploy only returns once its signal aborts (a hanging CLI). */
  hang = false;
  sawAbort = false;

  async stackDeploy(opts: StackDeployOptions): Promise<void> {
    this.calls.push(opts);
    for (const l of this.lines) opts.onLine(l);
    if (this.failWith) throw this.failWith;
    if (this.hang) {
      await new Promise<void>((resolve) => opts.signal.addEventListener("abort", () => resolve(), { once: true }));
      this.sawAbort = true;
      throw new DockerCliError("DOCKER_CLI_ABORTED", "docker stack deploy was canceled", [], null, "SIGTERM", []);
    }
  }
  async stackRemove(): Promise<void> {}
}

function setup(snapshots: StackSnapshot[]) {
  const engine = new FakeEngine();
  engine.snapshots = snapshots;
  // The test image is on this fake node: pre-flight does not look it up (image-preflight.spec.ts covers lookups).
  engine.localImages.add("stackyard/busybox:test");
  const cli = new FakeCli();
  const events: DeployEvent[] = [];
  const controller = new AbortController();
  const deps: DeployDeps = {
    engine,
    cli,
    emit: (e) => events.push(e),
    signal: controller.signal,
    pollIntervalMs: 2,
    stabilizationMs: 0,
  };
  return { engine, cli, events, controller, deps };
}

const web = fakeService({ id: "svc-web", name: "st_web", desiredReplicas: 2 });
const empty: StackSnapshot = { services: [], tasks: [] };
const starting: StackSnapshot = {
  services: [web],
  tasks: [fakeTask({ serviceId: "svc-web", state: "running" }), fakeTask({ serviceId: "svc-web", state: "starting" })],
};
const converged: StackSnapshot = {
  services: [web],
  tasks: [fakeTask({ serviceId: "svc-web" }), fakeTask({ serviceId: "svc-web" })],
};

describe("runDeployment", () => {
  it("streams every CLI line as an event, in order, between the start and the convergence wait", async () => {
    const { cli, events, deps } = setup([empty, converged]);
    cli.lines = [
      { stream: "stdout", line: "Creating network st_default" },
      { stream: "stderr", line: "image could not be accessed on a registry" },
      { stream: "stdout", line: "Creating service st_web" },
    ];
    const result = await runDeployment(request(), deps);
    expect(result.status).to.equal("SUCCEEDED");
    const messages = events.map((e) => e.message);
    const start = messages.indexOf("deploying stack st");
    const wait = messages.indexOf("docker stack deploy finished; waiting for services to converge");
    expect(messages.slice(start + 1, wait)).to.deep.equal([
      "Creating network st_default",
      "image could not be accessed on a registry",
      "Creating service st_web",
    ]);
    expect(events[start + 2]).to.deep.include({ level: "warn", data: { source: "docker", stream: "stderr" } });
    expect(cli.calls[0]).to.deep.include({
      stackName: "st",
      prune: true,
      resolveImage: "never",
      withRegistryAuth: true,
      env: { GREETING: "hello" },
    });
  });

  it("waits until running equals desired and reports replica progress only when it changes", async () => {
    const { events, deps } = setup([empty, starting, starting, starting, converged, converged]);
    const result = await runDeployment(request(), deps);
    expect(result).to.deep.include({
      status: "SUCCEEDED",
      phase: "converge",
      services: [{ name: "st_web", desired: 2, running: 2, image: "stackyard/busybox:test", healthy: true }],
    });
    expect(result.elapsedMs).to.be.a("number");
    const progress = events
      .filter((e) => e.message.startsWith("service st_web:") && e.message.includes("replicas"))
      .map((e) => e.message);
    expect(progress).to.deep.equal(["service st_web: 1/2 replicas running", "service st_web: 2/2 replicas running"]);
    // the outcome is the caller's terminal event, said once: nothing here claims it
    expect(events.filter((e) => /^deployment (succeeded|failed)/.test(e.message))).to.deep.equal([]);
  });

  it("requires the stack to stay converged for the stabilisation period", async () => {
    const flapping: StackSnapshot[] = [empty, converged, starting, converged, converged, converged, converged];
    const { engine, deps } = setup(flapping);
    deps.stabilizationMs = 20;
    deps.now = () => engine.inspectCalls * 10;
    const result = await runDeployment(request(), deps);
    expect(result.status).to.equal("SUCCEEDED");
    // baseline + converged + starting (resets) + 3 converged polls spanning 20 ms of the fake clock
    expect(engine.inspectCalls).to.equal(6);
  });

  it("fails with the task error once a service keeps failing", async () => {
    const crash = (n: number) =>
      fakeTask({
        serviceId: "svc-web",
        state: "failed",
        desiredState: "shutdown",
        error: "task: non-zero exit (1)",
        exitCode: 1,
        timestamp: `2026-01-01T00:01:0${n}Z`,
      });
    const f1 = crash(1);
    const f2 = crash(2);
    const f3 = crash(3);
    const pending = fakeTask({ serviceId: "svc-web", state: "starting" });
    const snapshots: StackSnapshot[] = [
      empty,
      { services: [web], tasks: [f1, pending] },
      { services: [web], tasks: [f1, f2, pending] },
      { services: [web], tasks: [f1, f2, f3, pending] },
    ];
    const { events, deps } = setup(snapshots);
    const result = await runDeployment(request(), deps);
    expect(result.status).to.equal("FAILED");
    expect(result.error).to.match(
      /^service st_web: task: non-zero exit \(1\) \(task \d+ failed; 3 tasks failed since the deploy started\)$/,
    );
    expect(result).to.deep.include({ phase: "converge", note: "the stack is left as deployed so far" });
    expect(result.services[0]).to.include({ running: 0, desired: 2, healthy: false });
    const taskEvents = events.filter((e) => e.level === "warn" && e.message.includes("non-zero exit"));
    expect(taskEvents.map((e) => e.data?.taskId)).to.deep.equal([f1.id, f2.id, f3.id]);
    expect(taskEvents[0]?.data).to.include({ service: "st_web", state: "failed", exitCode: 1 });
    expect(events.filter((e) => e.level === "error")).to.deep.equal([]);
  });

  it("does not count failures that happened before this deploy started", async () => {
    const old = [1, 2, 3].map(() =>
      fakeTask({ serviceId: "svc-web", state: "failed", desiredState: "shutdown", error: "old crash", exitCode: 1 }),
    );
    const before: StackSnapshot = { services: [web], tasks: old };
    const { deps } = setup([
      before,
      { services: [web], tasks: [...old, fakeTask({ serviceId: "svc-web", state: "pending" })] },
      { services: [web], tasks: [...old, ...converged.tasks] },
    ]);
    const result = await runDeployment(request(), deps);
    expect(result.status).to.equal("SUCCEEDED");
  });

  it("fails when Swarm pauses the rolling update", async () => {
    const paused = fakeService({
      id: "svc-web",
      name: "st_web",
      updateState: "paused",
      updateMessage: "update paused due to failure or early termination of task abc",
    });
    const { deps } = setup([converged, { services: [paused], tasks: converged.tasks }]);
    const result = await runDeployment(request(), deps);
    expect(result).to.deep.include({
      status: "FAILED",
      error: "service st_web: Swarm paused the update: update paused due to failure or early termination of task abc",
      note: "Swarm's update is paused for st_web (2/2 running)",
    });
    expect(result.services[0]?.updateState).to.equal("paused");
  });

  it("fails with 'timed out after Ns' when the stack never converges", async () => {
    const unschedulable = fakeTask({
      serviceId: "svc-web",
      state: "pending",
      error: "no suitable node (scheduling constraints not satisfied on 1 node)",
    });
    const { events, deps } = setup([empty, { services: [web], tasks: [unschedulable] }]);
    const result = await runDeployment(request({ timeoutSeconds: 0.1 }), deps);
    expect(result.status).to.equal("FAILED");
    expect(result.error).to.equal(
      "timed out after 0.1s waiting for st_web 0/2 (no suitable node (scheduling constraints not satisfied on 1 node))",
    );
    const pendingEvents = events.filter((e) => e.message.includes("tasks cannot start yet"));
    expect(pendingEvents).to.have.length(1);
  });

  it("cancels: aborts the running CLI call and says what was left as is", async () => {
    const { cli, events, controller, deps } = setup([empty]);
    cli.hang = true;
    const running = runDeployment(request(), deps);
    await new Promise((r) => setTimeout(r, 20));
    expect(cli.calls).to.have.length(1);
    controller.abort();
    const result = await running;
    expect(cli.sawAbort).to.equal(true);
    expect(result).to.deep.include({
      status: "CANCELED",
      phase: "deploy",
      error: "canceled: docker stack deploy was interrupted: stack left as deployed so far; services may be mid-update",
    });
    expect(events.filter((e) => e.message.startsWith("deployment canceled"))).to.deep.equal([]);
  });

  it("cancels while waiting for convergence", async () => {
    const { events, controller, deps } = setup([empty, starting]);
    const running = runDeployment(request(), deps);
    await new Promise((r) => setTimeout(r, 30));
    controller.abort();
    const result = await running;
    expect(result.status).to.equal("CANCELED");
    expect(result.services[0]).to.include({ running: 1, desired: 2 });
    expect(result.error).to.equal("canceled: stack left as deployed so far; services may be mid-update");
    expect(events.filter((e) => e.message.startsWith("deployment canceled"))).to.deep.equal([]);
  });

  it("does nothing when the signal is already aborted", async () => {
    const { cli, engine, controller, deps } = setup([empty]);
    controller.abort();
    const result = await runDeployment(
      request({ secrets: [{ name: "st_db_v1", secret: "db", value: SECRET_VALUE }] }),
      deps,
    );
    expect(result.status).to.equal("CANCELED");
    expect(cli.calls).to.have.length(0);
    expect(engine.createdSecrets).to.have.length(0);
  });

  it("reports a CLI failure with its last stderr line", async () => {
    const { cli, deps } = setup([empty]);
    cli.failWith = new DockerCliError(
      "DOCKER_CLI_FAILED",
      "docker stack deploy failed with exit code 1",
      ["docker", "stack", "deploy"],
      1,
      null,
      ['service web: undefined volume "data"', ""],
    );
    const result = await runDeployment(request(), deps);
    expect(result).to.deep.include({
      status: "FAILED",
      error: 'docker stack deploy failed with exit code 1: service web: undefined volume "data"',
      phase: "deploy",
      services: [],
    });
  });

  it("creates only the missing secrets, labelled for the stack, and never emits their values", async () => {
    const { engine, events, deps } = setup([empty, converged]);
    engine.secrets = [{ id: "x", name: "st_db_v1", labels: {}, createdAt: "" }];
    const result = await runDeployment(
      request({
        secrets: [
          { name: "st_db_v1", secret: "db", value: SECRET_VALUE },
          { name: "st_api_v2", secret: "api", value: SECRET_VALUE },
        ],
      }),
      deps,
    );
    expect(result.status).to.equal("SUCCEEDED");
    expect(engine.createdSecrets).to.deep.equal([
      {
        name: "st_api_v2",
        data: SECRET_VALUE,
        labels: { "io.stackyard.secret": "api", "com.stackyard.stack": "st", "com.stackyard.managed": "true" },
      },
    ]);
    expect(JSON.stringify(events)).not.to.include(SECRET_VALUE);
    expect(JSON.stringify(events)).not.to.include("hello");
  });

  it("after success removes the stack's managed secrets no service uses, keeping current and in-use ones", async () => {
    const managed = { "com.stackyard.stack": "st", "com.stackyard.managed": "true" };
    const withSecret: StackSnapshot = {
      services: [fakeService({ id: "svc-web", name: "st_web", secretNames: ["st_db_v2"] })],
      tasks: converged.tasks,
    };
    const { engine, events, deps } = setup([empty, withSecret]);
    engine.secrets = [
      { id: "old1", name: "st_db_v1", labels: managed, createdAt: "" },
      { id: "cur", name: "st_db_v2", labels: managed, createdAt: "" },
      { id: "other", name: "st_shared_v1", labels: managed, createdAt: "" },
      { id: "foreign", name: "other_db_v1", labels: { "com.stackyard.stack": "other" }, createdAt: "" },
    ];
    engine.otherServices = [
      { ...fakeService({ id: "o", name: "other_x", stack: "other" }), secretNames: ["st_shared_v1"] },
    ];
    const result = await runDeployment(
      request({ secrets: [{ name: "st_db_v2", secret: "db", value: SECRET_VALUE }] }),
      deps,
    );
    expect(result.status).to.equal("SUCCEEDED");
    expect(engine.removedSecrets).to.deep.equal(["old1"]);
    expect(events.some((e) => e.message === "removed unused secret st_db_v1")).to.equal(true);
  });

  it("keeps old secrets when the deployment fails", async () => {
    const managed = { "com.stackyard.stack": "st", "com.stackyard.managed": "true" };
    const { engine, cli, deps } = setup([empty]);
    engine.secrets = [{ id: "old1", name: "st_db_v1", labels: managed, createdAt: "" }];
    cli.failWith = new DockerCliError(
      "DOCKER_CLI_FAILED",
      "docker stack deploy failed with exit code 1",
      [],
      1,
      null,
      [],
    );
    const result = await runDeployment(request(), deps);
    expect(result.status).to.equal("FAILED");
    expect(engine.removedSecrets).to.deep.equal([]);
  });

  it("fails after repeated errors reading the stack state", async () => {
    const { engine, events, deps } = setup([empty]);
    // the baseline read succeeds; every poll after the CLI fails
    engine.inspectError = new Error("Docker engine connection lost during list tasks");
    engine.inspectErrorAfter = 1;
    const r = await runDeployment(request(), deps);
    expect(r.status).to.equal("FAILED");
    expect(r.error).to.match(/could not read the stack state 10 times in a row/);
    expect(events.filter((e) => e.message.startsWith("could not read the stack state:"))).to.have.length(1);
  });

  describe("ownership of the Swarm stack", () => {
    const ENV = "env-1";
    const owned = { "io.stackyard.environment": ENV, "io.stackyard.org": "org-1", "io.stackyard.release": "rel-1" };
    const snapshot = (labels: Record<string, string>): StackSnapshot => ({
      services: [fakeService({ id: "svc-web", name: "st_web", labels })],
      tasks: converged.tasks,
    });

    it("refuses a stack whose services are not labelled as this environment's: FAILED with a code, nothing done", async () => {
      const { cli, engine, events, deps } = setup([snapshot({}), snapshot({})]);
      const result = await runDeployment(
        request({ labels: owned, secrets: [{ name: "st_db_1", secret: "db", value: SECRET_VALUE }] }),
        deps,
      );
      expect(result).to.deep.include({ status: "FAILED", errorCode: "SWARM_STACK_NOT_OWNED" });
      expect(result.error).to.match(
        /^the Swarm stack st already has services that are not this environment's \(st_web\)/,
      );
      expect(cli.calls, "docker stack deploy never ran").to.have.length(0);
      expect(engine.createdSecrets).to.have.length(0);
      expect(result).to.deep.include({ phase: "prepare", note: "nothing was changed on the swarm" });
      expect(events.filter((e) => e.level === "error")).to.deep.equal([]);
    });

    it("refuses another environment's services just the same", async () => {
      const { cli, deps } = setup([snapshot({ ...owned, "io.stackyard.environment": "env-2" })]);
      const result = await runDeployment(request({ labels: owned }), deps);
      expect(result).to.deep.include({ status: "FAILED", errorCode: "SWARM_STACK_NOT_OWNED" });
      expect(cli.calls).to.have.length(0);
    });

    it("adopts the stack when the deployment says so, with a warning naming the services", async () => {
      const { cli, events, deps } = setup([snapshot({}), snapshot({})]);
      const result = await runDeployment(request({ labels: owned, adopt: true }), deps);
      expect(result.status).to.equal("SUCCEEDED");
      expect(cli.calls).to.have.length(1);
      const warning = events.find((e) => e.message.startsWith("adopting Swarm stack st"));
      expect(warning).to.deep.include({ level: "warn", data: { adopt: true, services: ["st_web"] } });
    });

    it("deploys onto its own services without a word about adoption", async () => {
      const { cli, events, deps } = setup([snapshot(owned), snapshot(owned)]);
      const result = await runDeployment(request({ labels: owned }), deps);
      expect(result.status).to.equal("SUCCEEDED");
      expect(cli.calls).to.have.length(1);
      expect(events.some((e) => e.message.startsWith("adopting"))).to.equal(false);
    });

    it("labels the secrets it creates as the environment's, with the secret's own name", async () => {
      const { engine, deps } = setup([empty, snapshot(owned)]);
      await runDeployment(
        request({ labels: owned, secrets: [{ name: "st_db_0123456789ab", secret: "db", value: SECRET_VALUE }] }),
        deps,
      );
      expect(engine.createdSecrets[0]?.labels).to.deep.equal({
        ...owned,
        "io.stackyard.secret": "db",
        "com.stackyard.stack": "st",
        "com.stackyard.managed": "true",
      });
    });
  });

  it("after success keeps the newest N versions of each deployed secret; removes the rest, never another environment's", async () => {
    const labels = (secret: string, env = "env-1") => ({
      "com.stackyard.stack": "st",
      "com.stackyard.managed": "true",
      "io.stackyard.environment": env,
      "io.stackyard.secret": secret,
    });
    const mine: StackSnapshot = {
      services: [fakeService({ id: "svc-web", name: "st_web", labels: { "io.stackyard.environment": "env-1" } })],
      tasks: converged.tasks,
    };
    const { engine, deps } = setup([empty, mine]);
    engine.secrets = [
      { id: "db1", name: "st_db_1", labels: labels("db"), createdAt: "2026-01-01T00:00:01Z" },
      { id: "db2", name: "st_db_2", labels: labels("db"), createdAt: "2026-01-01T00:00:02Z" },
      { id: "db3", name: "st_db_3", labels: labels("db"), createdAt: "2026-01-01T00:00:03Z" },
      { id: "db4", name: "st_db_4", labels: labels("db"), createdAt: "2026-01-01T00:00:04Z" },
      { id: "gone1", name: "st_gone_1", labels: labels("gone"), createdAt: "2026-01-01T00:00:05Z" },
      { id: "foreign", name: "st_db_x", labels: labels("db", "env-2"), createdAt: "2026-01-01T00:00:00Z" },
    ];
    const result = await runDeployment(
      request({
        labels: { "io.stackyard.environment": "env-1" },
        keepSecretVersions: 3,
        secrets: [{ name: "st_db_4", secret: "db", value: SECRET_VALUE }],
      }),
      deps,
    );
    expect(result.status).to.equal("SUCCEEDED");
    // db4 is current, db3 and db2 are the 2 newest older ones; "gone" is no longer deployed at all.
    expect([...engine.removedSecrets].sort()).to.deep.equal(["db1", "gone1"]);
  });
});

import { expect } from "chai";
import type { LogLine, SwarmTask } from "../docker/engine.js";
import { HookFailedError } from "./errors.js";
import { hookJobName, hookJobSpec, hookTaskInput, runHook, type HookEngine } from "./hooks.js";
import type { DeployEvent } from "./types.js";

const compose = `services:
  web:
    image: registry.example.com/shop/web:1.4
    environment:
      MODE: production
      EMPTY:
      PORT: 8080
    user: "1000"
    working_dir: /app
    secrets:
      - db_password
      - source: api_key
        target: api
        mode: 0400
    networks: [default, backend]
networks:
  backend: {}
  shared:
    external: true
secrets:
  db_password:
    external: true
    name: shop-prod_db_password_3f9c0a1b2c4d
  api_key:
    external: true
    name: shop-prod_api_key_aa11bb22cc33
`;

function task(over: Partial<SwarmTask>): SwarmTask {
  return {
    id: "t1",
    serviceId: "svc1",
    nodeId: "n1",
    slot: null,
    desiredState: "complete",
    state: "running",
    message: "",
    error: null,
    exitCode: null,
    timestamp: "2026-12-03T07:00:00Z",
    ...over,
  };
}

/** `live`: lines the follow delivers at once; `logs`: what the complete read after the job's end returns. */
function fakeEngine(states: SwarmTask[], logs: LogLine[] = [], live: LogLine[] = []) {
  const calls: { created: Array<{ spec: Record<string, unknown>; auth: unknown }>; removed: string[] } = {
    created: [],
    removed: [],
  };
  let poll = 0;
  const engine: HookEngine = {
    async listSecrets() {
      return [
        { id: "sec-db", name: "shop-prod_db_password_3f9c0a1b2c4d", labels: {}, createdAt: "" },
        { id: "sec-api", name: "shop-prod_api_key_aa11bb22cc33", labels: {}, createdAt: "" },
        { id: "other", name: "unrelated", labels: {}, createdAt: "" },
      ];
    },
    async networkIds(names) {
      return new Map(names.filter((n) => n === "shop-prod_backend").map((n) => [n, "net-backend"]));
    },
    async createJobService(spec, auth) {
      calls.created.push({ spec, auth });
      return "svc1";
    },
    async removeService(id) {
      calls.removed.push(id);
    },
    async listTasks() {
      const t = states[Math.min(poll, states.length - 1)]!;
      poll += 1;
      return [t];
    },
    async serviceLogs() {
      return logs;
    },
    async followServiceLogs(_id, opts, onLine) {
      for (const line of live) onLine(line);
      if (opts.signal.aborted) return;
      await new Promise<void>((resolve) => opts.signal.addEventListener("abort", () => resolve(), { once: true }));
    },
  };
  return { engine, calls };
}

const req = {
  deploymentId: "d3f1a2b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b",
  stackName: "shop-prod",
  composeYaml: compose,
  labels: { "io.stackyard.environment": "env-1" },
  registryLogins: [{ registry: "registry.example.com", username: "ci", password: "pw" }],
};
const hook = { phase: "pre_deploy" as const, service: "web", command: ["npm", "run", "migrate"], timeoutSeconds: 30 };

describe("release hooks: the job spec", () => {
  it("reads the service's image, env, secrets and networks from the rendered compose", () => {
    expect(hookTaskInput(compose, "shop-prod", "web")).to.deep.equal({
      image: "registry.example.com/shop/web:1.4",
      env: ["MODE=production", "PORT=8080"],
      secrets: [
        { secretName: "shop-prod_db_password_3f9c0a1b2c4d", target: "db_password", uid: "0", gid: "0", mode: 0o444 },
        { secretName: "shop-prod_api_key_aa11bb22cc33", target: "api", uid: "0", gid: "0", mode: 0o400 },
      ],
      networks: ["shop-prod_default", "shop-prod_backend"],
      user: "1000",
      workingDir: "/app",
    });
  });

  it("builds a replicated-job with one completion, no restart, ownership labels and no stack namespace", () => {
    const spec = hookJobSpec({
      name: hookJobName("shop-prod", "pre_deploy", req.deploymentId),
      hook,
      task: hookTaskInput(compose, "shop-prod", "web"),
      labels: req.labels,
      secretIds: new Map([["shop-prod_db_password_3f9c0a1b2c4d", "sec-db"]]),
      networkIds: new Map([["shop-prod_backend", "net-backend"]]),
    }) as {
      Name: string;
      Labels: Record<string, string>;
      Mode: unknown;
      TaskTemplate: {
        ContainerSpec: { Command: string[]; Secrets: unknown[]; Image: string };
        RestartPolicy: unknown;
        Networks: unknown[];
      };
    };
    expect(spec.Name).to.equal("shop-prod-hook-pre-d3f1a2b4");
    expect(spec.Mode).to.deep.equal({ ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } });
    expect(spec.Labels).to.deep.equal({ "io.stackyard.environment": "env-1", "io.stackyard.hook": "pre_deploy" });
    expect(spec.Labels).to.not.have.property("com.docker.stack.namespace");
    expect(spec.TaskTemplate.ContainerSpec.Command).to.deep.equal(["npm", "run", "migrate"]);
    expect(spec.TaskTemplate.RestartPolicy).to.deep.equal({ Condition: "none", MaxAttempts: 0 });
    expect(spec.TaskTemplate.Networks).to.deep.equal([{ Target: "net-backend" }]);
    expect(spec.TaskTemplate.ContainerSpec.Secrets).to.deep.equal([
      {
        SecretID: "sec-db",
        SecretName: "shop-prod_db_password_3f9c0a1b2c4d",
        File: { Name: "db_password", UID: "0", GID: "0", Mode: 0o444 },
      },
    ]);
  });

  it("keeps the job name within a DNS label for a long stack name", () => {
    expect(hookJobName("s".repeat(80), "post_deploy", req.deploymentId)).to.have.length(63);
  });
});

describe("release hooks: running one (fake engine)", () => {
  it("creates the job with the image's registry login, waits, reports the output, removes the job", async () => {
    const { engine, calls } = fakeEngine(
      [task({ state: "running" }), task({ state: "complete", exitCode: 0 })],
      [{ stream: "stdout", ts: "2026-12-03T07:00:01Z", line: "migrated 3 tables" }],
    );
    const events: DeployEvent[] = [];
    await runHook(req, hook, {
      engine,
      emit: (e) => events.push(e),
      signal: new AbortController().signal,
      pollIntervalMs: 1,
    });
    expect(calls.created).to.have.length(1);
    expect(calls.created[0]!.auth).to.deep.equal({
      username: "ci",
      password: "pw",
      serveraddress: "registry.example.com",
    });
    expect(calls.removed).to.deep.equal(["svc1"]);
    const messages = events.map((e) => e.message);
    expect(messages).to.include("migrated 3 tables");
    expect(messages).to.include("pre_deploy hook succeeded (exit code 0)");
    expect(messages.some((m) => m.includes("without the networks shop-prod_default"))).to.equal(true);
    expect(JSON.stringify(events)).to.not.contain("pw");
  });

  it("streams the output while the job runs, then only what the follow missed, each line once", async () => {
    const first = { stream: "stdout" as const, ts: "2026-12-03T07:00:01.000000001Z", line: "migrating" };
    const again = { stream: "stdout" as const, ts: "2026-12-03T07:00:01.000000001Z", line: "migrating" };
    const last = { stream: "stderr" as const, ts: "2026-12-03T07:00:04.5Z", line: "migrated" };
    const { engine } = fakeEngine(
      [task({ state: "running" }), task({ state: "running" }), task({ state: "complete", exitCode: 0 })],
      [first, again, last],
      [first, again],
    );
    const events: DeployEvent[] = [];
    let polls = 0;
    const listTasks = engine.listTasks.bind(engine);
    engine.listTasks = async (f) => {
      // the live lines are in before the job's end is seen
      if (polls++ === 1) expect(events.filter((e) => e.data?.live === true)).to.have.length(2);
      return listTasks(f);
    };
    await runHook(req, hook, {
      engine,
      emit: (e) => events.push(e),
      signal: new AbortController().signal,
      pollIntervalMs: 1,
    });
    const output = events.filter((e) => e.data?.stream !== undefined);
    expect(output.map((e) => [e.message, e.data?.live, e.level])).to.deep.equal([
      ["migrating", true, "info"],
      ["migrating", true, "info"],
      ["migrated", false, "warn"],
    ]);
    const ended = events.findIndex((e) => e.message === "pre_deploy hook succeeded (exit code 0)");
    expect(ended).to.be.above(events.indexOf(output[2]!));
  });

  it("a follow that fails costs only the live part: the output comes at the end", async () => {
    const { engine } = fakeEngine(
      [task({ state: "complete", exitCode: 0 })],
      [{ stream: "stdout", ts: "2026-12-03T07:00:01Z", line: "done" }],
    );
    engine.followServiceLogs = async () => {
      throw new Error("no such service");
    };
    const events: DeployEvent[] = [];
    await runHook(req, hook, {
      engine,
      emit: (e) => events.push(e),
      signal: new AbortController().signal,
      pollIntervalMs: 1,
    });
    const messages = events.map((e) => e.message);
    expect(messages).to.include(
      "pre_deploy hook: its output cannot be followed live (it is reported when the hook ends): no such service",
    );
    expect(messages).to.include("done");
  });

  it("a non-zero exit throws HookFailedError and still removes the job", async () => {
    const { engine, calls } = fakeEngine([task({ state: "failed", exitCode: 2, error: "task: non-zero exit (2)" })]);
    const err = await runHook(req, hook, {
      engine,
      emit: () => undefined,
      signal: new AbortController().signal,
      pollIntervalMs: 1,
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(HookFailedError);
    expect((err as Error).message).to.equal("pre_deploy hook failed (exit code 2)");
    expect(calls.removed).to.deep.equal(["svc1"]);
  });

  it("a job that never ends fails at the hook's timeout; a canceled deployment stops waiting; both remove it", async () => {
    let clock = 0;
    const slow = fakeEngine([task({ state: "running" })]);
    const err = await runHook(
      req,
      { ...hook, timeoutSeconds: 1 },
      {
        engine: slow.engine,
        emit: () => undefined,
        signal: new AbortController().signal,
        pollIntervalMs: 1,
        now: () => (clock += 400),
      },
    ).catch((e: unknown) => e);
    expect((err as Error).message).to.equal("pre_deploy hook timed out after 1s");
    expect(slow.calls.removed).to.deep.equal(["svc1"]);

    const canceled = fakeEngine([task({ state: "running" })]);
    const stop = new AbortController();
    stop.abort();
    await runHook(req, hook, {
      engine: canceled.engine,
      emit: () => undefined,
      signal: stop.signal,
      pollIntervalMs: 1,
    });
    expect(canceled.calls.removed).to.deep.equal(["svc1"]);
  });

  it("refuses to start when a secret the service mounts is missing on the swarm", async () => {
    const { engine, calls } = fakeEngine([task({ state: "complete", exitCode: 0 })]);
    engine.listSecrets = async () => [];
    const err = await runHook(req, hook, {
      engine,
      emit: () => undefined,
      signal: new AbortController().signal,
      pollIntervalMs: 1,
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(HookFailedError);
    expect(calls.created).to.deep.equal([]);
  });
});

import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { ReplayGuard, createCommandSigningKey, signCommand, signEnvelope } from "../../../nats/protocol/envelope.js";
import {
  decodeDeploymentEvents,
  validateMessage,
  type CommandRejected,
  type CommandResult,
  type DeployStack,
  type DeploymentEvent,
} from "../../../nats/protocol/messages.js";
import { createSealKeyPair, seal, type SealKeyPair } from "../../../nats/protocol/sealing.js";
import { commandSubject, type CommandType } from "../../../nats/protocol/subjects.js";
import type { AgentServices } from "../agent.js";
import { processCommand, type CommandHandlers } from "../commands.js";
import { DockerCliError, type DockerCli, type StackDeployOptions } from "../docker/cli.js";
import { FakeEngine, fakeService, fakeTask } from "../deploy/testing/fake-engine.js";
import type { StackSnapshot } from "../deploy/types.js";
import type { AckedPublish } from "../events.js";
import { createLogger } from "../logger.js";
import { DeploymentManager, createDeploymentHandlers, secretMasker, terminalEvent } from "./deployments.js";

const CLUSTER = "c1";
const SECRET = "hunter2-super-secret";
const log = createLogger({ level: "error", write: () => undefined });
const cp = createCommandSigningKey();
const agentKeys = createSealKeyPair();
const sealSecret = (value: string, deploymentId: string, name: string, to = agentKeys.publicKey) =>
  seal(value, to, { clusterId: CLUSTER, deploymentId, kind: "secret", name });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class FakeCli implements DockerCli {
  calls: StackDeployOptions[] = [];
  lines: Array<{ stream: "stdout" | "stderr"; line: string }> = [];
  /** When set, stackDeploy only returns once its signal aborts (a hanging CLI). */
  hang = false;

  async stackDeploy(opts: StackDeployOptions): Promise<void> {
    this.calls.push(opts);
    for (const l of this.lines) opts.onLine(l);
    if (this.hang) {
      await new Promise<void>((resolve) => opts.signal.addEventListener("abort", () => resolve(), { once: true }));
      throw new DockerCliError("DOCKER_CLI_ABORTED", "docker stack deploy was canceled", [], null, "SIGTERM", []);
    }
  }
  async stackRemove(): Promise<void> {}
}

const web = fakeService({ id: "svc-web", name: "st_web", desiredReplicas: 2 });
const empty: StackSnapshot = { services: [], tasks: [] };
const converged: StackSnapshot = {
  services: [web],
  tasks: [fakeTask({ serviceId: "svc-web" }), fakeTask({ serviceId: "svc-web" })],
};
const unschedulable: StackSnapshot = {
  services: [web],
  tasks: [fakeTask({ serviceId: "svc-web", state: "pending", message: "no suitable node" })],
};

function setup(snapshots: StackSnapshot[], sealKeys: SealKeyPair | null = agentKeys) {
  const engine = new FakeEngine();
  engine.localImages.add("stackyard/busybox:test");
  engine.snapshots = snapshots;
  const cli = new FakeCli();
  const published: Array<{ subject: string; msgID: string; raw: string; event: DeploymentEvent }> = [];
  const publish: AckedPublish = async (subject, data, opts) => {
    // One entry per event: a message may be a batch of several (agent/src/events.ts).
    const raw = new TextDecoder().decode(data);
    for (const event of decodeDeploymentEvents(data)) published.push({ subject, msgID: opts.msgID, raw, event });
    return { stream: "STACKYARD_AGENT_EVENTS", seq: published.length, duplicate: false, domain: "" };
  };
  const agentStop = new AbortController();
  const services: AgentServices = {
    clusterId: CLUSTER,
    sealKeys,
    publish,
    notify: () => undefined,
    listen: () => ({ unsubscribe: () => undefined }),
    log,
    now: Date.now,
    signal: agentStop.signal,
  };
  const manager = new DeploymentManager({
    engine,
    cli,
    services,
    tuning: { pollIntervalMs: 2, stabilizationMs: 0 },
    rememberFinished: 3,
  });
  const handlers: CommandHandlers = createDeploymentHandlers(manager);
  const terminal = async (deploymentId: string, timeoutMs = 5_000): Promise<DeploymentEvent> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const last = published.find((p) => p.event.deploymentId === deploymentId && p.event.outcome !== null);
      if (last) return last.event;
      if (Date.now() > deadline) throw new Error(`no terminal event for ${deploymentId}`);
      await sleep(5);
    }
  };
  const events = (deploymentId: string) =>
    published.filter((p) => p.event.deploymentId === deploymentId).map((p) => p.event);
  return { engine, cli, published, manager, handlers, agentStop, terminal, events };
}

function deployPayload(over: Partial<DeployStack> = {}): DeployStack {
  const deploymentId = over.deploymentId ?? "dep-1";
  return {
    deploymentId,
    stackName: "st",
    composeYaml: "services:\n  web:\n    image: stackyard/busybox:test\n",
    env: {},
    secrets: [{ name: "st_db_v1", secret: "db", sealed: sealSecret(SECRET, deploymentId, "st_db_v1") }],
    labels: {},
    adopt: false,
    keepSecretVersions: 1,
    prune: false,
    resolveImage: "never",
    withRegistryAuth: true,
    timeoutSeconds: 30,
    firstSeq: 3,
    ...over,
  };
}

/** Runs a command through the real verification and dispatch, as the agent does. */
async function send<T extends CommandType>(handlers: CommandHandlers, type: T, payload: unknown, signal?: AbortSignal) {
  // signEnvelope, not signCommand: the agent must refuse what a control plane's own checks would not send.
  const issuedAt = Date.now();
  const envelope = signEnvelope(cp.seed, {
    v: 1,
    id: randomUUID(),
    type,
    orgId: "o1",
    clusterId: CLUSTER,
    issuedAt,
    expiresAt: issuedAt + 60_000,
    payload: JSON.parse(JSON.stringify(payload)) as Record<string, unknown>,
  });
  const { reply } = await processCommand(
    commandSubject(CLUSTER, type),
    new TextEncoder().encode(JSON.stringify(envelope)),
    {
      clusterId: CLUSTER,
      commandSigningPublicKey: cp.publicKey,
      replayGuard: new ReplayGuard(),
      handlers,
      now: Date.now,
      log,
      signal: signal ?? new AbortController().signal,
    },
  );
  return reply;
}

const resultOf = (reply: unknown) => (validateMessage("CommandResult", reply) as CommandResult).result;
const rejectionOf = (reply: unknown) => validateMessage("CommandRejected", reply) as CommandRejected;

describe("deployment command handlers", () => {
  it("answers started at once, then streams every step from firstSeq and ends succeeded", async () => {
    const { cli, handlers, terminal, events, published } = setup([empty, converged]);
    cli.lines = [
      { stream: "stdout", line: "Creating network st_default" },
      { stream: "stdout", line: "Creating service st_web" },
    ];
    const reply = await send(handlers, "DeployStack", deployPayload());
    expect(resultOf(reply)).to.deep.equal({ deploymentId: "dep-1", status: "started" });

    const last = await terminal("dep-1");
    expect(last).to.include({ outcome: "succeeded", level: "info" });
    expect(last.message).to.match(/^deployment succeeded: stack st, 1 service\(s\) running as desired in [\d.]+s$/);
    expect(last.data).to.deep.include({ status: "SUCCEEDED", phase: "converge", stackChanged: true });
    // one terminal line: no other event says how the deployment ended
    expect(events("dep-1").filter((e) => /^deployment (succeeded|failed)/.test(e.message))).to.have.length(1);

    const seqs = events("dep-1").map((e) => e.seq);
    expect(seqs[0]).to.equal(3);
    expect(seqs).to.deep.equal(seqs.map((_, i) => 3 + i));
    expect(published.every((p) => p.subject === "agent-events.c1.dep-1")).to.equal(true);
    // The message id names the first event's seq (and the last one's, for a batch).
    expect(published[0]!.msgID).to.match(/^dep-1-3(-\d+)?$/);
    const messages = events("dep-1").map((e) => e.message);
    expect(messages).to.include.members(["Creating network st_default", "Creating service st_web"]);
    expect(events("dep-1").filter((e) => e.outcome !== null)).to.have.length(1);
    expect(cli.calls).to.have.length(1);
  });

  it("never publishes a secret value, even when the CLI or a task echoes it", async () => {
    const crash = (n: number) =>
      fakeTask({
        serviceId: "svc-web",
        state: "failed",
        desiredState: "shutdown",
        error: `bad password ${SECRET}`,
        exitCode: 1,
        timestamp: `2026-01-01T00:02:0${n}Z`,
      });
    const [f1, f2, f3] = [crash(1), crash(2), crash(3)];
    const { cli, engine, handlers, terminal, published } = setup([
      empty,
      { services: [web], tasks: [f1!] },
      { services: [web], tasks: [f1!, f2!] },
      { services: [web], tasks: [f1!, f2!, f3!] },
    ]);
    cli.lines = [{ stream: "stderr", line: `warning: value ${SECRET} looks odd` }];
    await send(handlers, "DeployStack", deployPayload());
    const last = await terminal("dep-1");
    expect(last.outcome).to.equal("failed");
    expect(engine.createdSecrets.map((s) => s.data)).to.deep.equal([SECRET]);
    expect(published.length).to.be.greaterThan(3);
    for (const p of published) expect(p.raw).to.not.include(SECRET);
    expect(published.map((p) => p.event.message)).to.include("warning: value ******** looks odd");
  });

  it("opens the sealed values with the agent key and hands only the plaintext to the engine", async () => {
    const { engine, handlers, terminal, published } = setup([empty, converged]);
    const reply = await send(handlers, "DeployStack", deployPayload());
    expect(resultOf(reply)).to.deep.include({ status: "started" });
    expect((await terminal("dep-1")).outcome).to.equal("succeeded");
    expect(engine.createdSecrets.map((s) => [s.name, s.data])).to.deep.equal([["st_db_v1", SECRET]]);
    for (const p of published) expect(p.raw).to.not.include(SECRET);
  });

  describe("refuses, before anything changes, a deploy whose secrets it cannot open", () => {
    const refused = async (payload: unknown, sealKeys: SealKeyPair | null = agentKeys) => {
      const { cli, engine, handlers, published } = setup([empty, converged], sealKeys);
      const rejection = rejectionOf(await send(handlers, "DeployStack", payload));
      await sleep(20);
      expect(cli.calls, "no docker stack deploy").to.have.length(0);
      expect(engine.createdSecrets, "no Swarm secret").to.have.length(0);
      expect(published, "no deployment events").to.have.length(0);
      return rejection;
    };

    it("an old-style plaintext value, correctly signed: PLAINTEXT_SECRET_REFUSED", async () => {
      const payload = { ...deployPayload(), secrets: [{ name: "st_db_v1", secret: "db", value: SECRET }] };
      expect(() =>
        signCommand(cp.seed, { type: "DeployStack", orgId: "o1", clusterId: CLUSTER, payload: payload as never }),
      ).to.throw(/PLAINTEXT_SECRET_REFUSED/, "the control plane's signer refuses to send it");
      const rejection = await refused(payload);
      expect(rejection.code).to.equal("PLAINTEXT_SECRET_REFUSED");
      expect(rejection.reason).to.match(/\/secrets\/0 carries its value in the clear/);
      expect(rejection.reason).to.not.include(SECRET);
    });

    it("a tampered ciphertext: SEAL_INVALID", async () => {
      const payload = deployPayload();
      const sealed = payload.secrets[0]!.sealed;
      const ct = Buffer.from(sealed.ct, "base64url");
      ct[0] = ct[0]! ^ 1;
      payload.secrets[0]!.sealed = { ...sealed, ct: ct.toString("base64url") };
      const rejection = await refused(payload);
      expect(rejection.code).to.equal("SEAL_INVALID");
      expect(rejection.reason).to.match(/secret st_db_v1 does not open/);
    });

    it("a value sealed for another deployment (cut and pasted): SEAL_INVALID", async () => {
      const payload = deployPayload();
      payload.secrets[0]!.sealed = sealSecret(SECRET, "dep-other", "st_db_v1");
      expect((await refused(payload)).code).to.equal("SEAL_INVALID");
    });

    it("a value sealed to another agent key (before a re-registration): SEAL_WRONG_KEY", async () => {
      const payload = deployPayload();
      payload.secrets[0]!.sealed = sealSecret(SECRET, "dep-1", "st_db_v1", createSealKeyPair().publicKey);
      const rejection = await refused(payload);
      expect(rejection.code).to.equal("SEAL_WRONG_KEY");
      expect(rejection.reason).to.match(/re-registered/);
    });

    it("an agent registered before sealing (no seal key): SEAL_KEY_MISSING, telling to register again", async () => {
      const rejection = await refused(deployPayload(), null);
      expect(rejection.code).to.equal("SEAL_KEY_MISSING");
      expect(rejection.reason).to.match(/register it again/);
    });
  });

  it("opens sealed registry logins and hands them only to docker stack deploy; one sealed elsewhere is refused", async () => {
    const login = JSON.stringify({ username: "ci", password: "registry-pa55" });
    const registryAuth = (deploymentId: string, registry = "127.0.0.1:5000") => [
      {
        registry: "127.0.0.1:5000",
        sealed: seal(login, agentKeys.publicKey, {
          clusterId: CLUSTER,
          deploymentId,
          kind: "registry",
          name: registry,
        }),
      },
    ];
    const { cli, engine, handlers, terminal, published } = setup([empty, converged]);
    engine.localImages.clear();
    engine.localImages.add("stackyard/busybox:test");
    const reply = await send(handlers, "DeployStack", { ...deployPayload(), registryAuth: registryAuth("dep-1") });
    expect(resultOf(reply)).to.deep.include({ status: "started" });
    expect((await terminal("dep-1")).outcome).to.equal("succeeded");
    expect(cli.calls[0]!.registryLogins).to.deep.equal([
      { registry: "127.0.0.1:5000", username: "ci", password: "registry-pa55" },
    ]);
    for (const p of published) expect(p.raw).to.not.include("registry-pa55");

    const other = setup([empty, converged]);
    const moved = { ...deployPayload(), registryAuth: registryAuth("dep-1", "evil.example.com") };
    expect(rejectionOf(await send(other.handlers, "DeployStack", moved)).code).to.equal("SEAL_INVALID");
    const plain = seal("not json", agentKeys.publicKey, {
      clusterId: CLUSTER,
      deploymentId: "dep-1",
      kind: "registry",
      name: "127.0.0.1:5000",
    });
    const bad = { ...deployPayload(), registryAuth: [{ registry: "127.0.0.1:5000", sealed: plain }] };
    expect(rejectionOf(await send(other.handlers, "DeployStack", bad)).code).to.equal("REGISTRY_AUTH_INVALID");
    expect(other.cli.calls).to.have.length(0);
  });

  it("an agent without a seal key still deploys a stack without secrets", async () => {
    const { handlers, terminal } = setup([empty, converged], null);
    const reply = await send(handlers, "DeployStack", deployPayload({ secrets: [] }));
    expect(resultOf(reply)).to.deep.include({ status: "started" });
    expect((await terminal("dep-1")).outcome).to.equal("succeeded");
  });

  it("ends failed with the task error when the service keeps crashing", async () => {
    const crash = (n: number) =>
      fakeTask({
        serviceId: "svc-web",
        state: "failed",
        desiredState: "shutdown",
        error: "task: non-zero exit (1)",
        exitCode: 1,
        timestamp: `2026-01-01T00:01:0${n}Z`,
      });
    const [f1, f2, f3] = [crash(1), crash(2), crash(3)];
    const { handlers, terminal, events } = setup([
      empty,
      { services: [web], tasks: [f1!] },
      { services: [web], tasks: [f1!, f2!] },
      { services: [web], tasks: [f1!, f2!, f3!] },
    ]);
    await send(handlers, "DeployStack", deployPayload());
    const last = await terminal("dep-1");
    expect(last).to.include({ outcome: "failed", level: "error" });
    expect(last.message).to.match(
      /^deployment failed: service st_web: task: non-zero exit \(1\) \(task \d+ failed; 3 tasks failed since the deploy started\); the stack is left as deployed so far$/,
    );
    // the headline alone, for the deployment's error message; and whether the swarm was touched (failure policy)
    expect(last.data).to.deep.include({
      error: last.message.replace(/^deployment failed: /, "").replace(/; the stack is left as deployed so far$/, ""),
      stackChanged: true,
      phase: "converge",
    });
    expect(events("dep-1").filter((e) => e.message.startsWith("deployment failed"))).to.have.length(1);
  });

  it("reports a deploy timeout of the real executor as timed_out", async function () {
    this.timeout(10_000);
    const { handlers, terminal } = setup([empty, unschedulable]);
    await send(handlers, "DeployStack", deployPayload({ timeoutSeconds: 1 }));
    const last = await terminal("dep-1");
    expect(last.outcome).to.equal("timed_out");
    expect(last.message).to.match(/^deployment failed: timed out after 1s waiting for st_web 0\/2/);
  });

  it("deploys a deployment id once: a repeated command is a duplicate, running or finished", async () => {
    const { cli, handlers, terminal } = setup([empty, converged]);
    cli.hang = true;
    expect(resultOf(await send(handlers, "DeployStack", deployPayload()))).to.deep.include({ status: "started" });
    expect(resultOf(await send(handlers, "DeployStack", deployPayload()))).to.deep.include({ status: "duplicate" });
    while (cli.calls.length === 0) await sleep(2); // past the pre-flight, inside docker stack deploy
    expect(resultOf(await send(handlers, "CancelDeployment", { deploymentId: "dep-1", reason: null }))).to.deep.equal({
      deploymentId: "dep-1",
      cancelled: true,
    });
    await terminal("dep-1");
    expect(resultOf(await send(handlers, "DeployStack", deployPayload()))).to.deep.include({ status: "duplicate" });
    expect(
      resultOf(
        await send(handlers, "RollbackStack", {
          ...deployPayload({ labels: { "io.stackyard.release": "r1" } }),
          targetReleaseId: "r1",
          fromReleaseId: null,
        }),
      ),
    ).to.deep.include({ status: "duplicate" });
    expect(cli.calls).to.have.length(1);
  });

  it("forgets the oldest finished ids past its memory bound", async () => {
    const { handlers, terminal, cli, published } = setup([empty, converged]);
    for (const id of ["a", "b", "c", "d"]) {
      await send(handlers, "DeployStack", deployPayload({ deploymentId: id }));
      await terminal(id);
    }
    expect(resultOf(await send(handlers, "DeployStack", deployPayload({ deploymentId: "d" })))).to.deep.include({
      status: "duplicate",
    });
    expect(resultOf(await send(handlers, "DeployStack", deployPayload({ deploymentId: "a" })))).to.deep.include({
      status: "started",
    });
    // Wait for the second run of "a" to end (terminal() alone would find the first run's terminal event).
    const deadline = Date.now() + 5_000;
    while (published.filter((p) => p.event.deploymentId === "a" && p.event.outcome !== null).length < 2) {
      if (Date.now() > deadline) throw new Error("no terminal event for the second run of a");
      await sleep(5);
    }
    expect(cli.calls).to.have.length(5);
  });

  it("cancels a running deployment: cancelled outcome with who asked and what was left", async () => {
    const { cli, handlers, terminal } = setup([empty, converged]);
    cli.hang = true;
    await send(handlers, "DeployStack", deployPayload());
    await sleep(20);
    const reply = await send(handlers, "CancelDeployment", { deploymentId: "dep-1", reason: "canceled by a@b.test" });
    expect(resultOf(reply)).to.deep.equal({ deploymentId: "dep-1", cancelled: true });
    const last = await terminal("dep-1");
    expect(last).to.include({ outcome: "cancelled", level: "warn" });
    expect(last.message).to.match(
      /^deployment canceled \(canceled by a@b\.test\): docker stack deploy was interrupted/,
    );
    expect(cli.calls[0]?.signal.aborted).to.equal(true);
  });

  it("answers cancelled: false for a deployment that is not running here", async () => {
    const { handlers } = setup([empty]);
    const reply = await send(handlers, "CancelDeployment", { deploymentId: "nope", reason: null });
    expect(resultOf(reply)).to.deep.equal({ deploymentId: "nope", cancelled: false });
  });

  it("refuses a second concurrent deployment of the same stack with STACK_BUSY", async () => {
    const { cli, handlers, manager, terminal } = setup([empty, converged]);
    cli.hang = true;
    await send(handlers, "DeployStack", deployPayload());
    const busy = rejectionOf(await send(handlers, "DeployStack", deployPayload({ deploymentId: "dep-2" })));
    expect(busy.code).to.equal("STACK_BUSY");
    expect(busy.reason).to.include("dep-1");
    expect(
      resultOf(await send(handlers, "DeployStack", deployPayload({ deploymentId: "o", stackName: "other" }))),
    ).to.deep.include({ status: "started" });
    manager.cancel("dep-1", null);
    manager.cancel("o", null);
    await terminal("dep-1");
    await terminal("o");
  });

  it("starts a rollback with a warning that volumes and data are not rolled back, naming both releases", async () => {
    const { handlers, terminal, events, cli } = setup([empty, converged]);
    const rollback = {
      ...deployPayload({ labels: { "io.stackyard.release": "rel-1" } }),
      targetReleaseId: "rel-1",
      fromReleaseId: "rel-2",
    };
    expect(resultOf(await send(handlers, "RollbackStack", rollback))).to.deep.include({ status: "started" });
    await terminal("dep-1");
    const [first] = events("dep-1");
    expect(first).to.include({ seq: 3, level: "warn" });
    expect(first?.message).to.equal(
      "rolling back to release rel-1 from release rel-2: volumes and data are not rolled back",
    );
    expect(first?.data).to.deep.equal({
      rollback: true,
      command: "RollbackStack",
      targetReleaseId: "rel-1",
      fromReleaseId: "rel-2",
    });
    expect(cli.calls).to.have.length(1);
    expect(cli.calls[0]?.composeYaml).to.equal(rollback.composeYaml);
  });

  it("refuses a rollback whose ownership labels name another release than its target, deploying nothing", async () => {
    const { handlers, cli } = setup([empty, converged]);
    const refused = rejectionOf(
      await send(handlers, "RollbackStack", {
        ...deployPayload({ labels: { "io.stackyard.release": "rel-2" } }),
        targetReleaseId: "rel-1",
        fromReleaseId: "rel-2",
      }),
    );
    expect(refused.code).to.equal("ROLLBACK_TARGET_MISMATCH");
    expect(refused.reason).to.match(/targets release rel-1 but its labels name release rel-2/);
    expect(cli.calls).to.have.length(0);
  });

  it("on agent stop aborts running deployments, reports that the agent stopped, and drains", async () => {
    const { cli, handlers, manager, agentStop, published } = setup([empty, converged]);
    cli.hang = true;
    await send(handlers, "DeployStack", deployPayload());
    await sleep(20);
    agentStop.abort();
    await manager.drain();
    const last = published.at(-1)?.event;
    expect(last).to.include({ outcome: "failed", level: "error" });
    expect(last?.message).to.match(/^the agent stopped during the deployment: /);
    expect(manager.isRunning("dep-1")).to.equal(false);

    const refused = rejectionOf(await send(handlers, "DeployStack", deployPayload({ deploymentId: "late" })));
    expect(refused.code).to.equal("AGENT_STOPPING");
  });
});

describe("terminal events", () => {
  it("carries a success's image pins as data.images, and none when the executor had none", () => {
    const services = [{ name: "st_web", desired: 1, running: 1, image: "web:1", healthy: true }];
    const images = [{ service: "web", image: "web:1", pinned: `sha256:${"a".repeat(64)}`, kind: "image-id" as const }];
    expect(terminalEvent({ status: "SUCCEEDED", services, images }, null, "st").event.data).to.deep.include({ images });
    expect(terminalEvent({ status: "SUCCEEDED", services }, null, "st").event.data).not.to.have.property("images");
  });

  it("maps every executor result to an outcome", () => {
    const services = [{ name: "st_web", desired: 2, running: 0, image: "i", healthy: false, lastError: "boom" }];
    expect(terminalEvent({ status: "SUCCEEDED", services }, null, "st").outcome).to.equal("succeeded");
    expect(terminalEvent({ status: "FAILED", error: "boom", services }, null, "st")).to.deep.include({
      outcome: "failed",
    });
    expect(
      terminalEvent({ status: "FAILED", error: "timed out after 60s waiting", services }, null, "st").outcome,
    ).to.equal("timed_out");
    const canceled = { status: "CANCELED" as const, error: "canceled: the stack was not changed", services };
    expect(terminalEvent(canceled, { kind: "cancel", reason: null }, "st").event.message).to.equal(
      "deployment canceled: the stack was not changed",
    );
    expect(terminalEvent(canceled, { kind: "shutdown" }, "st")).to.deep.include({ outcome: "failed" });
    expect(terminalEvent(canceled, { kind: "shutdown" }, "st").event.data).to.deep.include({ cause: "agent_stopped" });
    // a failure before `docker stack deploy` ran left the swarm unchanged: no rollback is needed for it
    const preflight = { status: "FAILED" as const, error: "pre-flight: x", phase: "preflight" as const, services };
    expect(terminalEvent(preflight, null, "st").event.data).to.deep.include({
      stackChanged: false,
      error: "pre-flight: x",
    });
    // A refusal with a stable code carries it to the control plane (deployments.error_code).
    const refused = { status: "FAILED" as const, error: "not ours", errorCode: "SWARM_STACK_NOT_OWNED", services };
    expect(terminalEvent(refused, null, "st").event.data).to.deep.include({ code: "SWARM_STACK_NOT_OWNED" });
    expect(terminalEvent({ status: "FAILED", error: "boom", services }, null, "st").event.data).to.not.have.property(
      "code",
    );
    expect(terminalEvent(canceled, null, "st").outcome).to.equal("cancelled");
    expect(terminalEvent(canceled, null, "st").event.data).to.deep.equal({
      status: "CANCELED",
      services: [{ service: "st_web", image: "i", running: 0, desired: 2, healthy: false, lastError: "boom" }],
    });
  });

  it("masks secret values in messages and data, longest first, leaving short values alone", () => {
    const mask = secretMasker(["abc", "secret", "secret-longer"]);
    expect(mask({ level: "info", message: "x secret-longer y secret abc", data: { e: "secret" } })).to.deep.equal({
      level: "info",
      message: "x ******** y ******** abc",
      data: { e: "********" },
    });
  });
});

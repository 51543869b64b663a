/**
 * Release hooks against the real dockerd of this machine (single-node Swarm): a real `replicated-job` service
 * runs the hook, its output is read back, its exit code decides, and the job service is removed either way.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { createDockerCli } from "../docker/cli.js";
import { createDockerodeEngine } from "../docker/dockerode-engine.js";
import { HookFailedError } from "./errors.js";
import { runDeployment } from "./executor.js";
import { HOOK_LABEL, runHook, type DeployHook } from "./hooks.js";
import type { DeployEvent } from "./types.js";

const run = promisify(execFile);
const IMAGE = "stackyard/busybox:test";
const prefix = `syhook-${randomBytes(3).toString("hex")}`;
const engine = createDockerodeEngine();
const secretName = `${prefix}_db_v1`;
const environmentId = `env-${prefix}`;

const compose = `version: "3.8"
services:
  app:
    image: ${IMAGE}
    command: ["sleep", "3600"]
    environment:
      GREETING: hello-from-env
    secrets:
      - source: db
        target: db
secrets:
  db:
    external: true
    name: ${secretName}
`;

function request(stackName: string) {
  return {
    deploymentId: `dep-${randomBytes(4).toString("hex")}`,
    stackName,
    composeYaml: compose,
    labels: { "io.stackyard.environment": environmentId },
    registryLogins: [],
  };
}

function hook(command: string[], over: Partial<DeployHook> = {}): DeployHook {
  return { phase: "pre_deploy", service: "app", command, timeoutSeconds: 30, ...over };
}

async function leftoverJobs(): Promise<string[]> {
  return (await engine.listServices())
    .filter((s) => s.labels[HOOK_LABEL] !== undefined && s.labels["io.stackyard.environment"] === environmentId)
    .map((s) => s.name);
}

describe("release hooks on a real Swarm (replicated-job)", function () {
  this.timeout(60_000);
  let secretId: string;

  before(async function () {
    this.timeout(120_000);
    await run("bash", ["scripts/build-test-image.sh"], { timeout: 110_000 });
    secretId = await engine.createSecret({ name: secretName, data: Buffer.from("s3cret"), labels: {} });
  });

  after(async function () {
    this.timeout(60_000);
    await createDockerCli()
      .stackRemove(`${prefix}-post`, { signal: new AbortController().signal })
      .catch(() => undefined);
    for (let i = 0; i < 60 && (await engine.listServices({ stack: `${prefix}-post` })).length > 0; i++)
      await new Promise((r) => setTimeout(r, 500));
    for (const s of await engine.listServices())
      if (s.labels["io.stackyard.environment"] === environmentId) await engine.removeService(s.id);
    await engine.removeSecret(secretId).catch(() => undefined);
  });

  it("exit 0: runs with the service's image, env and secret, its output becomes events, the job is removed", async () => {
    const events: DeployEvent[] = [];
    await runHook(
      request(`${prefix}-ok`),
      hook(["sh", "-c", 'echo "greeting=$GREETING"; test -f /run/secrets/db && echo has-secret; echo oops >&2']),
      { engine, emit: (e) => events.push(e), signal: new AbortController().signal, pollIntervalMs: 300 },
    );
    const messages = events.map((e) => e.message);
    expect(messages).to.include("greeting=hello-from-env");
    expect(messages).to.include("has-secret");
    expect(events.find((e) => e.message === "oops")).to.include({ level: "warn" });
    expect(messages).to.include("pre_deploy hook succeeded (exit code 0)");
    // The stack's default network does not exist (no stack yet): the hook says it ran without it.
    expect(messages.some((m) => /runs without the networks .*-ok_default/.test(m))).to.equal(true);
    expect(await leftoverJobs()).to.deep.equal([]);
  });

  it("exit 1: HookFailedError with the exit code, the output still reported, the job removed", async () => {
    const events: DeployEvent[] = [];
    const err = await runHook(request(`${prefix}-fail`), hook(["sh", "-c", "echo migration failed: boom; exit 3"]), {
      engine,
      emit: (e) => events.push(e),
      signal: new AbortController().signal,
      pollIntervalMs: 300,
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(HookFailedError);
    expect((err as Error).message).to.equal("pre_deploy hook failed (exit code 3)");
    expect(events.map((e) => e.message)).to.include("migration failed: boom");
    expect(await leftoverJobs()).to.deep.equal([]);
  });

  it("a failed pre_deploy fails the deployment before any service of the stack exists", async () => {
    const events: DeployEvent[] = [];
    const stackName = `${prefix}-dep`;
    const result = await runDeployment(
      {
        ...request(stackName),
        env: {},
        secrets: [],
        adopt: false,
        keepSecretVersions: 1,
        prune: false,
        resolveImage: "never",
        withRegistryAuth: false,
        timeoutSeconds: 45,
        hooks: [hook(["sh", "-c", "echo nope; exit 1"])],
      },
      {
        engine,
        cli: createDockerCli(),
        emit: (e) => events.push(e),
        signal: new AbortController().signal,
        pollIntervalMs: 300,
      },
    );
    expect(result).to.deep.include({
      status: "FAILED",
      phase: "pre_deploy",
      errorCode: "HOOK_FAILED",
      error: "pre_deploy hook failed (exit code 1)",
    });
    expect(events.map((e) => e.message)).to.include("nope");
    expect(await engine.listServices({ stack: stackName })).to.deep.equal([]);
    expect(await leftoverJobs()).to.deep.equal([]);
  });

  it("a failed post_deploy runs after the services converged and fails the deployment with the stack changed", async () => {
    const events: DeployEvent[] = [];
    const stackName = `${prefix}-post`;
    const result = await runDeployment(
      {
        ...request(stackName),
        env: {},
        secrets: [],
        adopt: false,
        keepSecretVersions: 1,
        prune: false,
        resolveImage: "never",
        withRegistryAuth: false,
        timeoutSeconds: 45,
        hooks: [
          hook(["sh", "-c", "echo pre-ran"]),
          hook(["sh", "-c", "echo smoke test failed; exit 1"], { phase: "post_deploy" }),
        ],
      },
      {
        engine,
        cli: createDockerCli(),
        emit: (e) => events.push(e),
        signal: new AbortController().signal,
        pollIntervalMs: 300,
        stabilizationMs: 500,
      },
    );
    expect(result).to.deep.include({ status: "FAILED", phase: "post_deploy", errorCode: "HOOK_FAILED" });
    const at = (m: string) => events.findIndex((e) => e.message === m);
    expect(at("pre-ran")).to.be.above(-1);
    expect(at("pre-ran")).to.be.below(events.findIndex((e) => e.message.startsWith("Creating service")));
    expect(at("smoke test failed")).to.be.above(at("docker stack deploy finished; waiting for services to converge"));
    expect(await engine.listServices({ stack: stackName })).to.have.length(1);
    expect(await leftoverJobs()).to.deep.equal([]);
  });
});

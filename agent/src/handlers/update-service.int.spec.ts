/**
 * UpdateService against the real dockerd of this machine (single-node Swarm): a restart replaces the tasks with
 * the same spec; a rollback returns the spec before the last update; a service never updated has nothing to roll
 * back to. The stack is named `sytest-<random>` and removed in `after`.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { createCommandSigningKey, signCommand } from "../../../nats/protocol/envelope.js";
import type { CommandEnvelope } from "../../../nats/protocol/messages.js";
import type { CommandContext } from "../commands.js";
import { createDockerodeEngine } from "../docker/dockerode-engine.js";
import { createLogger } from "../logger.js";
import { HandlerError } from "./errors.js";
import { createUpdateServiceHandler } from "./update-service.js";

const run = promisify(execFile);
const IMAGE = "stackyard/busybox:test";
const stackName = `sytest-${randomBytes(3).toString("hex")}-ops`;
const serviceName = `${stackName}_web`;
const engine = createDockerodeEngine();
const log = createLogger({ level: "error", write: () => undefined });
const cp = createCommandSigningKey();

async function docker(...args: string[]): Promise<string> {
  return (await run("docker", args, { timeout: 60_000 })).stdout.trim();
}

function context(action: "restart" | "rollback"): CommandContext {
  const command: CommandEnvelope = signCommand(cp.seed, {
    type: "UpdateService",
    orgId: "o1",
    clusterId: "c1",
    payload: { stackName, service: "web", action },
  });
  return { command, log, signal: new AbortController().signal };
}

const runningTaskIds = async (): Promise<string[]> =>
  (await docker("service", "ps", serviceName, "--filter", "desired-state=running", "--format", "{{.ID}}"))
    .split("\n")
    .filter(Boolean)
    .sort();

async function untilRunning(count: number, not: string[] = []): Promise<string[]> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const out = await docker(
      "service",
      "ps",
      serviceName,
      "--filter",
      "desired-state=running",
      "--format",
      "{{.ID}} {{.CurrentState}}",
    );
    const ids = out
      .split("\n")
      .filter((l) => l.includes("Running"))
      .map((l) => l.split(" ")[0]!)
      .filter((id) => !not.includes(id));
    if (ids.length === count) return ids.sort();
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${serviceName} did not reach ${count} new running task(s)`);
}

describe("UpdateService on the real Swarm (restart, rollback)", function () {
  this.timeout(180_000);
  const handler = createUpdateServiceHandler(engine, engine);

  before(async function () {
    this.timeout(150_000);
    await run("bash", ["scripts/build-test-image.sh"], { timeout: 110_000 });
    await docker(
      "service",
      "create",
      "--detach",
      "--name",
      serviceName,
      "--label",
      `com.docker.stack.namespace=${stackName}`,
      "--replicas",
      "2",
      "--stop-grace-period",
      "1s",
      "--update-parallelism",
      "2",
      "--update-monitor",
      "1s",
      "--env",
      "RELEASE=one",
      IMAGE,
      "sh",
      "-c",
      "exec sleep 3600",
    );
    await untilRunning(2);
  });

  after(async () => {
    await docker("service", "rm", serviceName).catch(() => "");
  });

  it("refuses a rollback of a service that was never updated, with a code, changing nothing", async () => {
    const err = await handler({ stackName, service: "web", action: "rollback" }, context("rollback")).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(HandlerError);
    expect((err as HandlerError).code).to.equal("SERVICE_NO_PREVIOUS_SPEC");
  });

  it("restarts: every task replaced, the spec unchanged but for Swarm's force-update counter", async () => {
    const before = await runningTaskIds();
    const result = await handler({ stackName, service: "web", action: "restart" }, context("restart"));
    expect(result).to.deep.equal({ service: serviceName, action: "restart", image: IMAGE });
    const after = await untilRunning(2, before);
    expect(after.filter((id) => before.includes(id))).to.deep.equal([]);
    expect(await docker("service", "inspect", serviceName, "--format", "{{.Spec.TaskTemplate.ForceUpdate}}")).to.equal(
      "1",
    );
    expect(
      await docker("service", "inspect", serviceName, "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}"),
    ).to.equal('["RELEASE=one"]');
  });

  it("rolls back to the spec before the last update", async () => {
    await docker("service", "update", "--detach", "--env-add", "RELEASE=two", serviceName);
    const before = await untilRunning(2, await runningTaskIds());
    expect(
      await docker("service", "inspect", serviceName, "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}"),
    ).to.equal('["RELEASE=two"]');
    await handler({ stackName, service: "web", action: "rollback" }, context("rollback"));
    await untilRunning(2, before);
    expect(
      await docker("service", "inspect", serviceName, "--format", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}"),
    ).to.equal('["RELEASE=one"]');
  });

  it("answers SERVICE_NOT_FOUND for a service the stack does not have", async () => {
    const err = await handler({ stackName, service: "nope", action: "restart" }, context("restart")).catch(
      (e: unknown) => e,
    );
    expect((err as { code?: string }).code).to.equal("SERVICE_NOT_FOUND");
  });
});

/**
 * Release hooks (stackyard.yaml) on the real Swarm, through the real control plane and agent: a failing
 * pre_deploy hook fails the deployment with the hook's output and leaves the running service untouched (same
 * spec version, same UpdatedAt); a passing one runs before the service updates, proven by the event order and by
 * the hook's task timestamp against the service's UpdatedAt. Hook jobs are removed in both cases.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { docker, testStackCompose as compose } from "../../services/_shared/testing/swarm.js";
import {
  startSwarmWorld,
  type StoredEvent,
  type SwarmWorld,
  type WorldEnvironment,
} from "../../services/_shared/testing/swarm-world.js";

interface ServiceInspect {
  Version: { Index: number };
  UpdatedAt: string;
  Spec: { Labels?: Record<string, string> };
}

const manifest = (command: string[]) =>
  [
    "hooks:",
    "  pre_deploy:",
    "    service: app",
    `    command: ${JSON.stringify(command)}`,
    "    timeoutSeconds: 30",
    "",
  ].join("\n");

describe("release hooks on a real single-node Swarm (real agent, real control plane)", function () {
  this.timeout(180_000);
  const stackName = `hk${randomBytes(4).toString("hex")}`;
  let world: SwarmWorld;
  let stackId: string;
  let env: WorldEnvironment;
  let service: string;

  const release = async (composeYaml: string, manifestYaml?: string) => {
    const res = await world.api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/releases`, {
      body: { sourceType: "upload", composeYaml, ...(manifestYaml ? { manifestYaml } : {}) },
      headers: world.auth(),
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.id;
  };
  const events = (id: string) => world.events(id);
  const inspect = async (): Promise<ServiceInspect> =>
    (JSON.parse(await docker("service", "inspect", service)) as ServiceInspect[])[0]!;
  const hookJobs = async () =>
    (await docker("service", "ls", "--filter", "label=io.stackyard.hook", "--format", "{{.Name}}"))
      .split("\n")
      .filter((n) => n.startsWith(env.swarmStack));

  before(async function () {
    this.timeout(180_000);
    world = await startSwarmWorld({ clusterName: "hooks-swarm" });
    stackId = await world.createStack(stackName);
    env = await world.createEnvironment(stackId, "prod", { onFailure: "rollback" });
    service = `${env.swarmStack}_app`;
  });

  after(async function () {
    this.timeout(120_000);
    await world?.stop();
  });

  it("refuses an invalid manifest at release creation with its line and column (422)", async () => {
    const res = await world.api.request<{ error: { code: string; details: { line: number; column: number } } }>(
      "POST",
      `/v1/stacks/${stackId}/releases`,
      {
        body: {
          sourceType: "upload",
          composeYaml: compose({ command: ["sleep", "3600"], replicas: 1 }),
          manifestYaml: "hooks:\n  pre_deploy:\n    service: nope\n    command: [echo]\n",
        },
        headers: world.auth(),
      },
    );
    expect(res.status).to.equal(422);
    expect(res.body.error.code).to.equal("MANIFEST_HOOK_SERVICE_UNKNOWN");
    expect(res.body.error.details).to.include({ line: 3, column: 14 });
  });

  it("a failing pre_deploy: FAILED with the hook's output, the running service untouched, no rollback", async () => {
    await world.deploy(env, await release(compose({ command: ["sleep", "3600"], replicas: 1 })));
    const before = await inspect();
    const failing = await release(
      compose({ command: ["sleep", "3600"], replicas: 1, env: { RELEASE: "2" } }),
      manifest(["sh", "-c", "echo 'migration failed: table locked'; exit 2"]),
    );
    const got = await world.api.get<{ manifest: { hooks: { pre_deploy: { service: string } } } }>(
      `/v1/releases/${failing}`,
      world.auth(),
    );
    expect(got.body.manifest.hooks.pre_deploy.service).to.equal("app");
    const failed = await world.deploy(env, failing, "FAILED");
    expect(failed.errorMessage).to.match(/pre_deploy hook failed \(exit code 2\)/);
    const list = await events(failed.id);
    expect(list.map((e) => e.message)).to.include("migration failed: table locked");
    expect(list.some((e) => /^Updating service|^Creating service/.test(e.message))).to.equal(false);
    const after = await inspect();
    expect(after.Version.Index).to.equal(before.Version.Index);
    expect(after.UpdatedAt).to.equal(before.UpdatedAt);
    expect(list.at(-1)?.message).to.match(/nothing was changed on the swarm/);
    expect(await hookJobs()).to.deep.equal([]);
  });

  it("a passing pre_deploy runs before the service updates (events and task timestamps)", async () => {
    const passing = await release(
      compose({ command: ["sleep", "3600"], replicas: 1, env: { RELEASE: "3" } }),
      manifest(["sh", "-c", "echo migrating; sleep 1; echo migrated"]),
    );
    const before = await inspect();
    const done = await world.deploy(env, passing);
    const list = await events(done.id);
    const seqOf = (pred: (e: StoredEvent) => boolean) => list.find(pred)?.seq ?? -1;
    const hookDone = list.find((e) => e.message === "pre_deploy hook succeeded (exit code 0)");
    const update = seqOf((e) => e.message.startsWith(`Updating service ${service}`));
    expect(hookDone, list.map((e) => e.message).join("\n")).to.not.equal(undefined);
    expect(update, "docker's update line").to.be.above(0);
    expect(seqOf((e) => e.message === "migrated"))
      .to.be.above(0)
      .and.below(update);
    expect(hookDone!.seq).to.be.below(update);
    const after = await inspect();
    expect(after.Spec.Labels?.["io.stackyard.release"]).to.equal(passing);
    // The hook's task ended (its last status) after the previous deploy and before Swarm recorded this update.
    const taskTs = Date.parse(String(hookDone!.data.taskEndedAt));
    expect(taskTs).to.be.above(Date.parse(before.UpdatedAt));
    expect(Date.parse(after.UpdatedAt)).to.be.above(taskTs);
    expect(await hookJobs()).to.deep.equal([]);
  });

  it("a hook's output is stored while it runs, not when it ends", async () => {
    const live = await release(
      compose({ command: ["sleep", "3600"], replicas: 1, env: { RELEASE: "4" } }),
      manifest(["sh", "-c", "echo 'step 1 of 2'; sleep 3; echo 'step 2 of 2'"]),
    );
    const done = await world.deploy(env, live);
    const list = await events(done.id);
    const transcript = list.map((e) => `${e.seq} ${e.ts} ${e.message} ${JSON.stringify(e.data)}`).join("\n");
    const first = list.find((e) => e.message === "step 1 of 2");
    const second = list.find((e) => e.message === "step 2 of 2");
    const hookDone = list.find((e) => e.message === "pre_deploy hook succeeded (exit code 0)");
    expect(first, transcript).to.not.equal(undefined);
    expect(second, transcript).to.not.equal(undefined);
    expect(hookDone, transcript).to.not.equal(undefined);
    expect(first!.data).to.include({ source: "hook", phase: "pre_deploy", stream: "stdout", live: true });
    expect(first!.seq).to.be.below(second!.seq);
    expect(second!.seq).to.be.below(hookDone!.seq);
    // Docker's own timestamp of the second line is when the task printed it, 3 s after the first: the first
    // line's event was made (agent clock, same host) before that, so before the hook ended.
    const printed = (ts: unknown) => Date.parse(String(ts).replace(/(\.\d{3})\d+/, "$1"));
    const secondPrintedAt = printed(second!.data.ts);
    expect(secondPrintedAt, transcript).to.be.a("number").and.not.be.NaN;
    expect(Date.parse(first!.ts), transcript).to.be.below(secondPrintedAt);
    expect(Date.parse(first!.ts), transcript).to.be.below(Date.parse(String(hookDone!.data.taskEndedAt)));
    expect(list.filter((e) => e.message === "step 1 of 2")).to.have.length(1);
    expect(await hookJobs()).to.deep.equal([]);
  });
});

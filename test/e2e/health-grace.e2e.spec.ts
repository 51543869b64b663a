/**
 * Per-service health grace (stackyard.yaml `services.<name>.healthGraceSeconds`) on the real Swarm, through the
 * real control plane and agent: a service without a healthcheck is held for its declared grace after it runs as
 * desired, instead of the agent's default window (5 s). Each deployment is the first of its own Swarm stack, so
 * no Swarm rolling update shortens the default. The hold is measured between the agent's own events (the line
 * that starts it and the one that ends it), so the deployments' other steps do not blur the comparison.
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { testStackCompose as compose } from "../../services/_shared/testing/swarm.js";
import {
  startSwarmWorld,
  type StoredEvent,
  type SwarmWorld,
  type WorldEnvironment,
} from "../../services/_shared/testing/swarm-world.js";

const DEFAULT_WINDOW_MS = 5_000;
const grace = (seconds: number) => `services:\n  app:\n    healthGraceSeconds: ${seconds}\n`;

describe("per-service health grace on a real single-node Swarm (real agent, real control plane)", function () {
  this.timeout(240_000);
  let world: SwarmWorld;
  let stackId: string;
  const app = compose({ command: ["sleep", "3600"], replicas: 1 });

  const release = async (manifestYaml?: string) => {
    const res = await world.api.request<{ id: string }>("POST", `/v1/stacks/${stackId}/releases`, {
      body: { sourceType: "upload", composeYaml: app, ...(manifestYaml ? { manifestYaml } : {}) },
      headers: world.auth(),
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.id;
  };

  /** Deploys to a fresh environment; returns the hold's two events and how long it lasted by the agent's clock. */
  const deployAndMeasure = async (env: WorldEnvironment, releaseId: string) => {
    const done = await world.deploy(env, releaseId);
    const list = await world.events(done.id);
    const service = `${env.swarmStack}_app`;
    const started = list.find((e) => e.data.service === service && typeof e.data.holdMs === "number");
    const ended = list.find((e) => e.data.service === service && typeof e.data.heldMs === "number");
    const transcript = list.map((e) => `${e.seq} ${e.ts} ${e.message}`).join("\n");
    expect(started, transcript).to.not.equal(undefined);
    expect(ended, transcript).to.not.equal(undefined);
    const terminal = list.at(-1)!;
    expect(ended!.seq).to.be.above(started!.seq).and.below(terminal.seq);
    return { started: started!, ended: ended!, heldMs: Date.parse(ended!.ts) - Date.parse(started!.ts), list };
  };
  const reasonOf = (e: StoredEvent) => e.data.reason;

  before(async function () {
    this.timeout(180_000);
    world = await startSwarmWorld({ clusterName: "grace-swarm" });
    stackId = await world.createStack(`hg${randomBytes(4).toString("hex")}`);
  });

  after(async function () {
    this.timeout(120_000);
    await world?.stop();
  });

  it("refuses a health grace for a service the compose file does not have (422, with the path and line)", async () => {
    const res = await world.api.request<{
      error: { code: string; message: string; details: { errors: Array<{ path: string; line: number }> } };
    }>("POST", `/v1/stacks/${stackId}/releases`, {
      body: {
        sourceType: "upload",
        composeYaml: app,
        manifestYaml: "services:\n  worker:\n    healthGraceSeconds: 3\n",
      },
      headers: world.auth(),
    });
    expect(res.status).to.equal(422);
    expect(res.body.error.code).to.equal("MANIFEST_SERVICE_UNKNOWN");
    expect(res.body.error.details.errors[0]).to.include({ path: "services.worker", line: 2 });
    expect(res.body.error.message).to.contain("services.worker names no service of the compose file (app)");
  });

  it("a short declared grace ends the wait sooner than the default window; a long one holds the deployment", async () => {
    const [short, plain, long] = [
      await world.createEnvironment(stackId, "short"),
      await world.createEnvironment(stackId, "plain"),
      await world.createEnvironment(stackId, "long"),
    ];
    const shortRun = await deployAndMeasure(short, await release(grace(1)));
    const plainRun = await deployAndMeasure(plain, await release());
    const longRun = await deployAndMeasure(long, await release(grace(15)));

    expect(shortRun.started.data).to.include({ reason: "grace", holdMs: 1_000 });
    expect(shortRun.started.message).to.contain("checking it stays up for its health grace of 1s (stackyard.yaml)");
    expect(plainRun.started.data).to.include({ reason: "default_window", holdMs: DEFAULT_WINDOW_MS });
    expect(plainRun.started.message).to.contain("no health grace declared");
    expect(reasonOf(longRun.started)).to.equal("grace");
    expect(longRun.started.data.holdMs).to.equal(15_000);

    // Each wait lasted at least its hold (by the agent's clock), and the three are ordered by what they declared.
    expect(shortRun.heldMs).to.be.at.least(1_000);
    expect(plainRun.heldMs).to.be.at.least(DEFAULT_WINDOW_MS);
    expect(longRun.heldMs).to.be.at.least(15_000);
    expect(shortRun.heldMs).to.be.below(plainRun.heldMs);
    expect(plainRun.heldMs).to.be.below(longRun.heldMs);
    expect(longRun.ended.message).to.equal(
      `service ${long.swarmStack}_app: stayed up for its health grace of 15s; ready`,
    );
  });
});

import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { validateMessage } from "../../nats/protocol/messages.js";
import { createDockerodeEngine } from "./docker/dockerode-engine.js";
import { AgentError } from "./errors.js";
import { buildHeartbeat } from "./heartbeat.js";
import { collectInventory } from "./inventory.js";
import { checkDockerReady } from "./preflight.js";
import { getStackStatus } from "./handlers/status.js";

const run = promisify(execFile);

describe("agent against the real Docker engine (single-node swarm)", function () {
  this.timeout(30_000);
  const engine = createDockerodeEngine();

  it("passes the preflight on this swarm manager", async () => {
    const info = await checkDockerReady(engine, "/var/run/docker.sock");
    const { stdout } = await run("docker", ["info", "--format", "{{json .Swarm.NodeID}}"]);
    expect(info.nodeId).to.equal(JSON.parse(stdout));
  });

  it("explains a missing Docker socket", async () => {
    let error: unknown;
    try {
      await checkDockerReady(
        createDockerodeEngine({ socketPath: "/nonexistent/docker.sock" }),
        "/nonexistent/docker.sock",
      );
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(AgentError);
    expect((error as AgentError).code).to.equal("DOCKER_UNAVAILABLE");
    expect((error as AgentError).message).to.match(/\/nonexistent\/docker.sock/);
  });

  it("lists the real node in a valid inventory and heartbeat", async () => {
    const inventory = validateMessage("Inventory", await collectInventory(engine, "c1", Date.now()));
    const { stdout } = await run("docker", ["node", "ls", "--format", "{{json .}}"]);
    const nodes = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { ID: string; Hostname: string });
    expect(inventory.nodes.map((n) => n.id).sort()).to.deep.equal(nodes.map((n) => n.ID).sort());
    expect(inventory.nodes.find((n) => n.id === nodes[0]!.ID)?.hostname).to.equal(nodes[0]!.Hostname);
    const heartbeat = validateMessage(
      "Heartbeat",
      await buildHeartbeat({
        engine,
        clusterId: "c1",
        hostname: "h",
        startedAt: Date.now(),
        now: Date.now,
        inventoryHash: () => inventory.hash,
      }),
    );
    expect(heartbeat.docker?.nodeCount).to.equal(nodes.length);
  });

  it("reports a stack that does not exist", async () => {
    const status = validateMessage("GetStatusResult", await getStackStatus(engine, "stackyard-no-such-stack"));
    expect(status).to.deep.equal({ stackName: "stackyard-no-such-stack", exists: false, services: [] });
  });
});

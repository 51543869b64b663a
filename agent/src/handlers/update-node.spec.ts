import { expect } from "chai";
import { createCommandSigningKey, signCommand } from "../../../nats/protocol/envelope.js";
import { validateCommandResult, type CommandEnvelope } from "../../../nats/protocol/messages.js";
import type { CommandContext } from "../commands.js";
import { DockerEngineError } from "../docker/dockerode-engine.js";
import type { SwarmNode, SwarmNodeUpdater } from "../docker/engine.js";
import { createLogger } from "../logger.js";
import { HandlerError } from "./errors.js";
import { createUpdateNodeHandler } from "./update-node.js";

const log = createLogger({ level: "error", write: () => undefined });
const cp = createCommandSigningKey();

/** One node in memory; the update applies like Swarm's (null leaves a field alone). */
class FakeNodes implements SwarmNodeUpdater {
  calls: Array<Parameters<SwarmNodeUpdater["updateNode"]>> = [];
  fail: DockerEngineError | null = null;
  node: SwarmNode = {
    id: "n1",
    hostname: "worker-1",
    role: "worker",
    availability: "active",
    status: "ready",
    labels: { zone: "a" },
    resources: { nanoCpus: 2e9, memoryBytes: 8e9 },
    engineVersion: "26.1.5",
    address: "10.0.0.11",
  };
  async updateNode(...args: Parameters<SwarmNodeUpdater["updateNode"]>) {
    this.calls.push(args);
    if (this.fail) throw this.fail;
    const [, change] = args;
    if (change.availability !== null) this.node = { ...this.node, availability: change.availability };
    if (change.labels !== null) this.node = { ...this.node, labels: change.labels };
    return this.node;
  }
}

function context(): CommandContext {
  const command: CommandEnvelope = signCommand(cp.seed, {
    type: "UpdateNode",
    orgId: "o1",
    clusterId: "c1",
    payload: { nodeId: "n1", availability: "drain", labels: null },
  });
  return { command, log, signal: new AbortController().signal };
}

const refusal = async (promise: Promise<unknown>): Promise<HandlerError> => {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(HandlerError);
    return err as HandlerError;
  }
  throw new Error("the command was carried out");
};

describe("UpdateNode handler", () => {
  it("drains a node, leaving its labels, and answers with the node as Swarm reports it (a valid result)", async () => {
    const nodes = new FakeNodes();
    const result = await createUpdateNodeHandler(nodes)(
      { nodeId: "n1", availability: "drain", labels: null },
      context(),
    );
    expect(nodes.calls).to.deep.equal([["n1", { availability: "drain", labels: null }]]);
    expect(result).to.deep.include({ id: "n1", availability: "drain", labels: { zone: "a" }, nanoCpus: 2e9 });
    expect(validateCommandResult("UpdateNode", result)).to.deep.equal(result);
  });

  it("replaces the labels alone", async () => {
    const nodes = new FakeNodes();
    const result = await createUpdateNodeHandler(nodes)(
      { nodeId: "n1", availability: null, labels: { disk: "ssd" } },
      context(),
    );
    expect(result).to.deep.include({ availability: "active", labels: { disk: "ssd" } });
  });

  it("refuses a change of nothing without calling Swarm", async () => {
    const nodes = new FakeNodes();
    const err = await refusal(
      createUpdateNodeHandler(nodes)({ nodeId: "n1", availability: null, labels: null }, context()),
    );
    expect(err.code).to.equal("NODE_UPDATE_FAILED");
    expect(nodes.calls).to.have.length(0);
  });

  it("answers NODE_NOT_FOUND for a node Swarm does not know, NODE_UPDATE_FAILED when Swarm refuses", async () => {
    const nodes = new FakeNodes();
    nodes.fail = new DockerEngineError("DOCKER_NOT_FOUND", "inspect node: not found", 404);
    const missing = await refusal(
      createUpdateNodeHandler(nodes)({ nodeId: "gone", availability: "pause", labels: null }, context()),
    );
    expect(missing.code).to.equal("NODE_NOT_FOUND");
    nodes.fail = new DockerEngineError("DOCKER_API_ERROR", "update node failed: invalid label", 400);
    const refused = await refusal(
      createUpdateNodeHandler(nodes)({ nodeId: "n1", availability: null, labels: { a: "b" } }, context()),
    );
    expect(refused.code).to.equal("NODE_UPDATE_FAILED");
    expect(refused.message).to.match(/invalid label/);
  });
});

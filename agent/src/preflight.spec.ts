import { expect } from "chai";
import { AgentError } from "./errors.js";
import { checkDockerReady } from "./preflight.js";
import { FakeEngine, engineInfo } from "./testing/fake-engine.js";

async function failure(engine: FakeEngine): Promise<AgentError> {
  try {
    await checkDockerReady(engine, "/var/run/docker.sock");
  } catch (err) {
    expect(err).to.be.instanceOf(AgentError);
    return err as AgentError;
  }
  throw new Error("preflight passed");
}

describe("Docker preflight", () => {
  it("passes on a swarm manager and returns the engine facts", async () => {
    expect(await checkDockerReady(new FakeEngine(), "/var/run/docker.sock")).to.deep.equal(engineInfo());
  });

  it("explains a missing or unusable Docker socket", async () => {
    const engine = new FakeEngine();
    engine.info_ = Object.assign(new Error("connect ENOENT /var/run/docker.sock"), { code: "ENOENT" });
    const err = await failure(engine);
    expect(err.code).to.equal("DOCKER_UNAVAILABLE");
    expect(err.message).to.match(/cannot reach the Docker engine at \/var\/run\/docker.sock.*Is Docker running/);
  });

  it("explains a node outside any swarm", async () => {
    const engine = new FakeEngine();
    engine.info_ = engineInfo({ swarmState: "inactive", isManager: false });
    const err = await failure(engine);
    expect(err.code).to.equal("NOT_IN_SWARM");
    expect(err.message).to.match(/docker swarm init/);
  });

  it("explains a worker node", async () => {
    const engine = new FakeEngine();
    engine.info_ = engineInfo({ isManager: false });
    expect((await failure(engine)).code).to.equal("NOT_SWARM_MANAGER");
  });
});

import { expect } from "chai";
import { validateMessage } from "../../nats/protocol/messages.js";
import { buildHeartbeat } from "./heartbeat.js";
import { FakeEngine, engineInfo } from "./testing/fake-engine.js";
import { AGENT_VERSION } from "./version.js";

describe("heartbeat", () => {
  const source = (engine: FakeEngine) => ({
    engine,
    clusterId: "c1",
    hostname: "manager-1",
    startedAt: 1_700_000_000_000,
    now: () => 1_700_000_042_500,
    inventoryHash: () => "b".repeat(64),
  });

  it("reports Docker facts, swarm state, node count, agent version and uptime", async () => {
    const heartbeat = validateMessage("Heartbeat", await buildHeartbeat(source(new FakeEngine())));
    expect(heartbeat).to.deep.equal({
      clusterId: "c1",
      agentVersion: AGENT_VERSION,
      hostname: "manager-1",
      sentAt: 1_700_000_042_500,
      startedAt: 1_700_000_000_000,
      uptimeSeconds: 42,
      docker: { ...engineInfo() },
      dockerError: null,
      inventoryHash: "b".repeat(64),
    });
  });

  it("still beats when Docker is unreachable, saying why", async () => {
    const engine = new FakeEngine();
    engine.info_ = new Error("Docker engine unavailable: socket /var/run/docker.sock does not exist");
    const heartbeat = validateMessage("Heartbeat", await buildHeartbeat(source(engine)));
    expect(heartbeat.docker).to.equal(null);
    expect(heartbeat.dockerError).to.match(/does not exist/);
  });
});

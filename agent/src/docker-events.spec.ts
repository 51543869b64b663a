import { expect } from "chai";
import { validateMessage } from "../../nats/protocol/messages.js";
import { toDockerEvent } from "./docker-events.js";

const CLUSTER = "8f2b7c1e-1d2e-4f3a-9b4c-5d6e7f8a9b0c";
const TS = 1_764_633_600_000;

describe("docker events reported to the control plane", () => {
  it("passes service and node events on, named by their name attribute", () => {
    const service = toDockerEvent(
      { type: "service", action: "update", id: "svc1", attributes: { name: "web_app" } },
      CLUSTER,
      TS,
    );
    expect(service).to.deep.equal({
      clusterId: CLUSTER,
      ts: TS,
      type: "service",
      action: "update",
      id: "svc1",
      name: "web_app",
    });
    const node = toDockerEvent({ type: "node", action: "update", id: "n1", attributes: {} }, CLUSTER, TS);
    expect(node).to.deep.include({ type: "node", name: null });
    expect(validateMessage("DockerEvent", node)).to.equal(node);
  });

  it("reports a Swarm task's container events as task events, by task id and name", () => {
    const event = toDockerEvent(
      {
        type: "container",
        action: "die",
        id: "c0ffee",
        attributes: { "com.docker.swarm.task.id": "t1", "com.docker.swarm.task.name": "web_app.1.t1", exitCode: "1" },
      },
      CLUSTER,
      TS,
    );
    expect(event).to.deep.equal({
      clusterId: CLUSTER,
      ts: TS,
      type: "task",
      action: "die",
      id: "t1",
      name: "web_app.1.t1",
    });
    const health = toDockerEvent(
      {
        type: "container",
        action: "health_status: unhealthy",
        id: "c",
        attributes: { "com.docker.swarm.task.id": "t1" },
      },
      CLUSTER,
      TS,
    );
    expect(health?.action).to.equal("health_status: unhealthy");
  });

  it("keeps plain containers, execs and other event types on the host", () => {
    const plain = { type: "container", action: "start", id: "c", attributes: { name: "db" } };
    expect(toDockerEvent(plain, CLUSTER, TS)).to.equal(null);
    const exec = {
      type: "container",
      action: "exec_start: sh",
      id: "c",
      attributes: { "com.docker.swarm.task.id": "t" },
    };
    expect(toDockerEvent(exec, CLUSTER, TS)).to.equal(null);
    expect(toDockerEvent({ type: "secret", action: "create", id: "s", attributes: {} }, CLUSTER, TS)).to.equal(null);
    expect(toDockerEvent({ type: "service", action: "create", id: "", attributes: {} }, CLUSTER, TS)).to.equal(null);
  });

  it("clips long fields to the protocol's bounds", () => {
    const event = toDockerEvent(
      { type: "service", action: "a".repeat(100), id: "i".repeat(300), attributes: { name: "n".repeat(400) } },
      CLUSTER,
      TS,
    )!;
    expect(validateMessage("DockerEvent", event)).to.equal(event);
    expect(event.name).to.have.length(255);
  });
});

import { expect } from "chai";
import { MAX_TASKS_PER_SERVICE, validateMessage } from "../../../nats/protocol/messages.js";
import { getStackStatus } from "./status.js";
import { FakeEngine, swarmService, swarmTask } from "../testing/fake-engine.js";

describe("GetStatus", () => {
  it("returns the stack's services with their tasks, newest first", async () => {
    const engine = new FakeEngine();
    engine.services = [
      swarmService(),
      swarmService({ id: "svc-2", name: "web_worker" }),
      swarmService({ id: "svc-9", name: "other_x", stack: "other" }),
    ];
    engine.tasks = [
      swarmTask({ id: "old", timestamp: "2024-01-01T00:00:00Z", state: "shutdown", desiredState: "shutdown" }),
      swarmTask({ id: "new", timestamp: "2024-01-02T00:00:00Z" }),
      swarmTask({ id: "w1", serviceId: "svc-2", state: "failed", error: "exit 1", exitCode: 1 }),
      swarmTask({ id: "x1", serviceId: "svc-9" }),
    ];
    const status = validateMessage("GetStatusResult", await getStackStatus(engine, "web"));
    expect(status.exists).to.equal(true);
    expect(status.services.map((s) => s.name)).to.deep.equal(["web_app", "web_worker"]);
    expect(status.services[0]!.tasks.map((t) => t.id)).to.deep.equal(["new", "old"]);
    expect(status.services[1]!.tasks[0]).to.deep.include({ state: "failed", error: "exit 1", exitCode: 1 });
    expect(engine.calls).to.include.members(["listServices:web", "listTasks:web"]);
  });

  it("says when the stack does not exist", async () => {
    const status = await getStackStatus(new FakeEngine(), "nope");
    expect(status).to.deep.equal({ stackName: "nope", exists: false, services: [] });
  });

  it("caps the task history per service", async () => {
    const engine = new FakeEngine();
    engine.tasks = Array.from({ length: 80 }, (_, i) =>
      swarmTask({ id: `t${i}`, timestamp: `2024-01-01T00:00:${String(i % 60).padStart(2, "0")}Z` }),
    );
    const status = validateMessage("GetStatusResult", await getStackStatus(engine, "web"));
    expect(status.services[0]!.tasks).to.have.length(MAX_TASKS_PER_SERVICE);
  });
});

import { expect } from "chai";
import { createCommandSigningKey, signCommand } from "../../../nats/protocol/envelope.js";
import type { CommandEnvelope } from "../../../nats/protocol/messages.js";
import { validateCommandResult } from "../../../nats/protocol/messages.js";
import type { CommandContext } from "../commands.js";
import type { SwarmObjectKind, SwarmObjectRef, SwarmObjectStore } from "../docker/engine.js";
import { createLogger } from "../logger.js";
import { createRemoveStackHandler } from "./remove-stack.js";

const log = createLogger({ level: "error", write: () => undefined });
const cp = createCommandSigningKey();
const ENV = "6f1c2b1e-0c0a-4f7e-9a53-2a3f5d9b8c71";
const OTHER_ENV = "0d7e6c55-3a4b-4c2d-8e9f-112233445566";
const NS = "com.docker.stack.namespace";
const OWNER = "io.stackyard.environment";

/** An in-memory Swarm: objects by kind; removal can be refused a number of times (an endpoint still in use). */
class FakeStore implements SwarmObjectStore {
  removed: Array<{ kind: SwarmObjectKind; name: string }> = [];
  busy = new Map<string, number>();
  constructor(public objects: Record<SwarmObjectKind, SwarmObjectRef[]>) {}
  async listObjects(kind: SwarmObjectKind, labels: Record<string, string>) {
    return this.objects[kind].filter((o) => Object.entries(labels).every(([k, v]) => o.labels[k] === v));
  }
  async removeObject(kind: SwarmObjectKind, id: string) {
    const left = this.busy.get(id) ?? 0;
    if (left > 0) {
      this.busy.set(id, left - 1);
      throw new Error(`${id} is in use`);
    }
    const object = this.objects[kind].find((o) => o.id === id)!;
    this.objects[kind] = this.objects[kind].filter((o) => o.id !== id);
    this.removed.push({ kind, name: object.name });
  }
}

const obj = (id: string, labels: Record<string, string>): SwarmObjectRef => ({ id, name: id, labels });

function swarm() {
  return new FakeStore({
    service: [
      obj("shop-a_web", { [NS]: "shop-a", [OWNER]: ENV }),
      obj("shop-a_handmade", { [NS]: "shop-a" }),
      obj("shop-b_web", { [NS]: "shop-b", [OWNER]: OTHER_ENV }),
      obj("shop-a-copy_web", { [NS]: "shop-a-copy" }),
    ],
    network: [obj("shop-a_default", { [NS]: "shop-a", [OWNER]: ENV }), obj("shop-b_default", { [NS]: "shop-b" })],
    secret: [
      obj("shop-a_db_1", { [OWNER]: ENV }),
      obj("shop-a_db_hand", {}),
      obj("shop-b_db_1", { [OWNER]: OTHER_ENV }),
    ],
    config: [obj("shop-a_conf_1", { [NS]: "shop-a", [OWNER]: ENV }), obj("shop-a_conf_x", { [NS]: "shop-a" })],
  });
}

function context(signal = new AbortController().signal): CommandContext {
  const command: CommandEnvelope = signCommand(cp.seed, {
    type: "RemoveStack",
    orgId: "o1",
    clusterId: "c1",
    payload: { stackName: "shop-a", environmentId: ENV },
  });
  return { command, log, signal };
}

describe("RemoveStack handler", () => {
  it("removes only the environment's labelled objects, services first, and reports what it left", async () => {
    const store = swarm();
    const handler = createRemoveStackHandler(store, { runningDeployment: () => undefined, retryIntervalMs: 1 });
    const result = await handler({ stackName: "shop-a", environmentId: ENV }, context());
    expect(validateCommandResult("RemoveStack", result)).to.deep.equal(result);
    expect(result.removed).to.deep.equal({
      services: ["shop-a_web"],
      networks: ["shop-a_default"],
      secrets: ["shop-a_db_1"],
      configs: ["shop-a_conf_1"],
    });
    expect(result.leftInPlace).to.deep.equal({
      services: ["shop-a_handmade"],
      networks: [],
      secrets: [],
      configs: ["shop-a_conf_x"],
    });
    expect(store.removed[0]).to.deep.equal({ kind: "service", name: "shop-a_web" });
    expect(store.objects.service.map((s) => s.name)).to.deep.equal([
      "shop-a_handmade",
      "shop-b_web",
      "shop-a-copy_web",
    ]);
    expect(store.objects.secret.map((s) => s.name)).to.deep.equal(["shop-a_db_hand", "shop-b_db_1"]);
  });

  it("retries a network still in use by stopping containers, then succeeds", async () => {
    const store = swarm();
    store.busy.set("shop-a_default", 3);
    const handler = createRemoveStackHandler(store, { runningDeployment: () => undefined, retryIntervalMs: 1 });
    const result = await handler({ stackName: "shop-a", environmentId: ENV }, context());
    expect(result.removed.networks).to.deep.equal(["shop-a_default"]);
  });

  it("gives up with REMOVE_STACK_INCOMPLETE when an object stays in use past the wait", async () => {
    const store = swarm();
    store.busy.set("shop-a_db_1", 1_000_000);
    let t = 0;
    const handler = createRemoveStackHandler(store, {
      runningDeployment: () => undefined,
      retryIntervalMs: 1,
      maxWaitMs: 50,
      now: () => (t += 10),
    });
    const err = await handler({ stackName: "shop-a", environmentId: ENV }, context()).then(
      () => null,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err?.code).to.equal("REMOVE_STACK_INCOMPLETE");
    expect(err?.message).to.contain("secret shop-a_db_1");
    expect(store.objects.service.map((s) => s.name)).to.not.include("shop-a_web");
  });

  it("refuses with STACK_BUSY while a deployment of the stack runs here, touching nothing", async () => {
    const store = swarm();
    const handler = createRemoveStackHandler(store, { runningDeployment: (s) => (s === "shop-a" ? "d-1" : undefined) });
    const err = await handler({ stackName: "shop-a", environmentId: ENV }, context()).then(
      () => null,
      (e: unknown) => e as { code: string },
    );
    expect(err?.code).to.equal("STACK_BUSY");
    expect(store.removed).to.deep.equal([]);
  });
});

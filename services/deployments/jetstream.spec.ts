import { expect } from "chai";
import type { JetStreamManager } from "nats";
import { DEPLOY_JOBS_STREAM, ensureDeploymentStreams } from "./jetstream.js";

/**
 * A JetStream manager where, like two services starting at the same moment, another caller creates each stream
 * between our "not found" and our create: our create then fails the way nats-server 2.9 answers it.
 */
function managerLosingTheCreateRace() {
  const created = new Set<string>();
  const updated: string[] = [];
  const jsm = {
    streams: {
      info: async (name: string) => {
        if (!created.has(name)) throw new Error("stream not found");
        return {};
      },
      update: async (name: string) => {
        updated.push(name);
        return {};
      },
      add: async (config: { name: string }) => {
        created.add(config.name); // the other service's create, just ahead of ours
        throw new Error("subjects overlap with an existing stream");
      },
    },
    consumers: { add: async () => ({}) },
  };
  return { jsm: jsm as unknown as JetStreamManager, updated };
}

describe("ensureDeploymentStreams", () => {
  it("updates the stream another service created while it was creating the same one", async () => {
    const { jsm, updated } = managerLosingTheCreateRace();
    await ensureDeploymentStreams(jsm);
    expect(updated).to.include(DEPLOY_JOBS_STREAM.name);
    expect(updated).to.have.length(2);
  });

  it("still reports a create that fails for another reason", async () => {
    const { jsm } = managerLosingTheCreateRace();
    (jsm.streams as unknown as { add: () => Promise<never> }).add = async () => {
      throw new Error("insufficient resources");
    };
    let error: unknown;
    await ensureDeploymentStreams(jsm).catch((err: unknown) => (error = err));
    expect(String(error)).to.contain("insufficient resources");
  });

  it("tries the whole set-up again when the JetStream API times out (a cluster still placing R3 streams)", async function () {
    this.timeout(10_000);
    const { jsm } = managerLosingTheCreateRace();
    let calls = 0;
    const consumers = jsm.consumers as unknown as { add: () => Promise<unknown> };
    consumers.add = async () => {
      if (++calls === 1) throw new Error("TIMEOUT");
      return {};
    };
    await ensureDeploymentStreams(jsm, 3);
    // The first consumer timed out once; the second set-up made both.
    expect(calls).to.equal(3);
  });
});

import { expect } from "chai";
import { Errors, ServiceBroker } from "moleculer";
import { ConflictError, toErrorResponse } from "../_shared/errors.js";
import { publicBrokerError } from "./broker-errors.js";

/** Moleculer's wording and node names: never in a client's answer. */
const BROKER_TEXT = /when call|action on '|node|nodeID|deployments\.scale/i;

const publicBody = (err: unknown) => toErrorResponse(publicBrokerError(err) ?? err);

describe("broker errors at the gateway", () => {
  it("a call that timed out (as the broker raises it) is 504 REQUEST_TIMEOUT with a user-level message", async () => {
    const broker = new ServiceBroker({ logger: false, nodeID: "node-secret-1" });
    broker.createService({
      name: "slow",
      actions: { wait: () => new Promise((r) => setTimeout(r, 500)) },
    });
    await broker.start();
    try {
      const err = await broker.call("slow.wait", {}, { timeout: 20 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(Errors.RequestTimeoutError);
      const { status, body } = publicBody(err);
      expect(status).to.equal(504);
      expect(body.error.code).to.equal("REQUEST_TIMEOUT");
      expect(body.error).to.not.have.property("details");
      expect(JSON.stringify(body)).to.not.match(BROKER_TEXT);
    } finally {
      await broker.stop();
    }
  });

  it("a service with no live node is 503 SERVICE_UNAVAILABLE, also after a trip over the transporter (by name)", () => {
    const local = new Errors.ServiceNotFoundError({ action: "deployments.scale", nodeID: "node-secret-1" });
    const wire = JSON.parse(JSON.stringify({ ...local, name: local.name, message: local.message })) as unknown;
    for (const err of [
      local,
      wire,
      new Errors.ServiceNotAvailableError({ action: "deployments.scale", nodeID: "n" }),
      new Errors.QueueIsFullError({ action: "deployments.scale", nodeID: "n", size: 1, limit: 1 }),
    ]) {
      const { status, body } = publicBody(err);
      expect(status).to.equal(503);
      expect(body.error.code).to.equal("SERVICE_UNAVAILABLE");
      expect(JSON.stringify(body)).to.not.match(BROKER_TEXT);
    }
  });

  it("leaves the application's own errors alone, even with a code the broker also uses", () => {
    const ours = new ConflictError("ENVIRONMENT_BUSY", "deployment d1 is RUNNING", { deploymentId: "d1" });
    expect(publicBrokerError(ours)).to.equal(null);
    expect(publicBrokerError(new Error("x"))).to.equal(null);
  });
});

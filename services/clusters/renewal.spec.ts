import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { createUser } from "nkeys.js";
import { signRenewRequest } from "../../nats/protocol/envelope.js";
import { ConflictError } from "../_shared/errors.js";
import { answerRenewal } from "./renewal.js";

describe("renewal answers", () => {
  it("carries the stable code of a refusal, e.g. a key another cluster holds (AGENT_KEY_IN_USE)", async () => {
    const user = createUser();
    const clusterId = randomUUID();
    const request = signRenewRequest(new TextDecoder().decode(user.getSeed()), { clusterId, requestedAt: Date.now() });
    const reply = await answerRenewal(`agent.${clusterId}.renew`, new TextEncoder().encode(JSON.stringify(request)), {
      registeredAgentKey: async () => user.getPublicKey(),
      renew: async () => {
        throw new ConflictError("AGENT_KEY_IN_USE", "this public key is registered to another cluster");
      },
      now: Date.now,
    });
    expect(reply).to.deep.include({ ok: false, code: "AGENT_KEY_IN_USE" });
  });
});

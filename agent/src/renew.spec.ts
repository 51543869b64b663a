import { expect } from "chai";
import { createUser } from "nkeys.js";
import { verifyRenewRequest } from "../../nats/protocol/envelope.js";
import { AgentError } from "./errors.js";
import { createLogger } from "./logger.js";
import { renewCredentials, renewalDueAt, type RenewalDeps } from "./renew.js";
import type { AgentState } from "./state.js";
import { agentState } from "./testing/fixtures.js";

const DAY = 86_400_000;
const NOW = 1_700_000_000_000;
const jwtFor = (sub: string, iatMs: number) =>
  [
    "eyJ0eXAiOiJKV1QifQ",
    Buffer.from(JSON.stringify({ sub, iat: Math.floor(iatMs / 1000) })).toString("base64url"),
    "c2ln",
  ].join(".");

function setup(reply: (request: unknown) => unknown) {
  const kp = createUser();
  let state: AgentState = agentState({
    publicKey: kp.getPublicKey(),
    seed: new TextDecoder().decode(kp.getSeed()),
    jwt: jwtFor(kp.getPublicKey(), NOW - 20 * DAY),
    jwtExpiresAt: NOW + 10 * DAY,
  });
  const calls = { subjects: [] as string[], reconnects: 0, saved: 0 };
  const deps: RenewalDeps = {
    getState: () => state,
    setState: async (next) => {
      calls.saved++;
      state = next;
    },
    request: async (subject, data) => {
      calls.subjects.push(subject);
      return new TextEncoder().encode(JSON.stringify(reply(JSON.parse(new TextDecoder().decode(data)))));
    },
    reconnect: async () => void calls.reconnects++,
    now: () => NOW,
    log: createLogger({ level: "error", write: () => undefined }),
  };
  return { deps, calls, state: () => state, kp };
}

async function failure(p: Promise<unknown>): Promise<AgentError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(AgentError);
    return err as AgentError;
  }
  throw new Error("renewal succeeded");
}

describe("credential renewal", () => {
  it("falls due when a third of the JWT's lifetime remains", () => {
    const state = agentState({ jwt: jwtFor("U", NOW), jwtExpiresAt: NOW + 30 * DAY });
    expect(renewalDueAt(state)).to.equal(NOW + 20 * DAY);
  });

  it("sends a request the control plane can verify, stores the new JWT and reconnects", async () => {
    let verified = false;
    const t = setup((request) => {
      verifyRenewRequest(request, { registeredPublicKey: t.kp.getPublicKey(), clusterId: "c1", now: NOW });
      verified = true;
      return { ok: true, jwt: jwtFor(t.kp.getPublicKey(), NOW), expiresAt: NOW + 30 * DAY };
    });
    const next = await renewCredentials(t.deps);
    expect(verified).to.equal(true);
    expect(t.calls.subjects).to.deep.equal(["agent.c1.renew"]);
    expect(next.jwtExpiresAt).to.equal(NOW + 30 * DAY);
    expect(t.state()).to.deep.equal(next);
    expect(t.calls).to.deep.include({ saved: 1, reconnects: 1 });
  });

  it("reports the control plane's refusal and keeps the old credentials", async () => {
    const t = setup(() => ({ ok: false, code: "CLUSTER_REVOKED", reason: "revoked" }));
    const before = t.state();
    expect((await failure(renewCredentials(t.deps))).message).to.match(/CLUSTER_REVOKED/);
    expect(t.state()).to.equal(before);
  });

  it("refuses a JWT for another key, one that does not extend the expiry, and a malformed reply", async () => {
    const other = setup(() => ({ ok: true, jwt: jwtFor(createUser().getPublicKey(), NOW), expiresAt: NOW + 30 * DAY }));
    expect((await failure(renewCredentials(other.deps))).message).to.match(/not for this agent/);
    const shorter = setup(() => ({ ok: true, jwt: jwtFor(shorter.kp.getPublicKey(), NOW), expiresAt: NOW + DAY }));
    expect((await failure(renewCredentials(shorter.deps))).message).to.match(/later/);
    const garbage = setup(() => ({ hello: 1 }));
    expect((await failure(renewCredentials(garbage.deps))).code).to.equal("RENEWAL_FAILED");
    expect(other.calls.saved + shorter.calls.saved + garbage.calls.saved).to.equal(0);
  });
});

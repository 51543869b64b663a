import { expect } from "chai";
import { createAccount, createOperator, decode, type ClaimsData } from "nats-jwt";
import { nkeys } from "nats";
import type { Principal } from "../_shared/principal.js";
import type { NatsIdentity } from "../../nats/identity.js";
import { createLiveCredential } from "./live-credentials.js";

const seed = (kp: { getSeed(): Uint8Array }) => new TextDecoder().decode(kp.getSeed());
const identity = {
  operatorSeed: seed(createOperator()),
  appAccountSeed: seed(createAccount()),
  appSigningSeed: seed(createAccount()),
} as unknown as NatsIdentity;

const viewer: Principal = {
  orgId: "org-1",
  userId: "u-1",
  email: "v@example.test",
  role: "VIEWER",
  actorType: "user",
  actorId: "u-1",
  sessionId: "s-1",
  tokenId: null,
  permissions: ["orgs:read", "clusters:read", "stacks:read", "deployments:read"],
};

describe("createLiveCredential", () => {
  it("mints a WebSocket-only, subscribe-only JWT for the caller's key, with the topics it may read", async () => {
    const key = nkeys.createUser();
    const out = await createLiveCredential(viewer, { publicKey: key.getPublicKey() }, identity, { available: true });
    const claims = decode(out.jwt) as ClaimsData<{
      pub: { allow: string[]; deny: string[] };
      sub: { allow: string[] };
      allowed_connection_types: string[];
    }>;
    expect(claims.sub).to.equal(key.getPublicKey());
    expect(claims.nats.allowed_connection_types).to.deep.equal(["WEBSOCKET"]);
    expect(claims.nats.pub?.deny).to.deep.equal([">"]);
    expect(claims.nats.sub?.allow).to.have.members([
      "stackyard.org-1.deployments.>",
      "stackyard.org-1.releases.>",
      "stackyard.org-1.environments.>",
      "stackyard.org-1.clusters.>",
    ]);
    expect(claims.exp! - Math.floor(Date.now() / 1000)).to.be.within(295, 300);
  });

  it("says live updates are unavailable (409) when the installation has no websocket listener", async () => {
    const key = nkeys.createUser();
    const error = await createLiveCredential(viewer, { publicKey: key.getPublicKey() }, identity, {
      available: false,
    }).catch((err: unknown) => err);
    expect(error).to.include({ code: 409, type: "LIVE_UPDATES_UNAVAILABLE" });
  });
});

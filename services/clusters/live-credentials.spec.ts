import { expect } from "chai";
import { createAccount, createOperator } from "nats-jwt";
import { nkeys } from "nats";
import type { Principal } from "../_shared/principal.js";
import type { TenantScope } from "../_shared/tenant.js";
import type { NatsIdentity } from "../../nats/identity.js";
import { createLiveCredential } from "./live-credentials.js";

const seed = (kp: { getSeed(): Uint8Array }) => new TextDecoder().decode(kp.getSeed());
const identity = {
  operatorSeed: seed(createOperator()),
  appAccountSeed: seed(createAccount()),
  appSigningSeed: seed(createAccount()),
} as unknown as NatsIdentity;

/** Refused before any query: a scope that is never used. */
const NO_DATABASE = {} as TenantScope;

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
  it("says live updates are unavailable (409) when the installation has no websocket listener", async () => {
    const key = nkeys.createUser();
    const error = await createLiveCredential(NO_DATABASE, viewer, { publicKey: key.getPublicKey() }, identity, {
      available: false,
    }).catch((err: unknown) => err);
    expect(error).to.include({ code: 409, type: "LIVE_UPDATES_UNAVAILABLE" });
  });
});

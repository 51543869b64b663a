/** Test data for the agent's unit tests. */
import { createUser } from "nkeys.js";
import type { AgentState } from "../state.js";

export function agentState(overrides: Partial<AgentState> = {}): AgentState {
  const kp = createUser();
  return {
    version: 1,
    clusterId: "c1",
    orgId: "o1",
    publicKey: kp.getPublicKey(),
    seed: new TextDecoder().decode(kp.getSeed()),
    jwt: "eyJhIjoxfQ.eyJzdWIiOiJVIn0.c2ln",
    jwtExpiresAt: 1_700_000_000_000,
    natsUrls: ["nats://127.0.0.1:4222"],
    commandSigningPublicKey: "ADCEJ4T7UNNCMYGQSDPC5RR4CMSTYHHKT4WRKGL536JRQXMHGJILPJK7",
    controlPlaneUrl: "https://cp.example.com",
    registeredAt: 1_690_000_000_000,
    ...overrides,
  };
}

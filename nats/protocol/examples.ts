/**
 * One valid example of every protocol message, typed against the interfaces. Used by the protocol's own tests
 * and by tests on either side that need a well-formed message to start from.
 */
import { COMMANDS, COMMAND_TYPES, type CommandPayloads, type CommandResultMessages } from "./commands/index.js";
import type { DockerFacts, MessageTypes } from "./messages.js";

const CLUSTER = "0b0f7c8e-3d7a-4a59-9a53-5f1a2c3d4e5f";
const ORG = "6a1e9f0c-8b2d-4c3e-9f4a-0b1c2d3e4f50";
const DEPLOYMENT = "d3f1a2b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b";
const COMMAND = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a";
const HASH = "a".repeat(64);
const SIG = "A".repeat(86);
const USER_KEY = "UD56FJ5O43FDQGZ7CBLZRQ7NQ36WRFCSAJWVHGOHNMOIMEW3KMAIHEVW";
const ACCOUNT_KEY = "ADCEJ4T7UNNCMYGQSDPC5RR4CMSTYHHKT4WRKGL536JRQXMHGJILPJK7";
const JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJVIn0.c2ln";

const docker: DockerFacts = {
  dockerVersion: "26.1.5",
  apiVersion: "1.45",
  os: "Debian GNU/Linux 12 (bookworm)",
  arch: "x86_64",
  swarmState: "active",
  isManager: true,
  nodeId: "n1abc",
  clusterId: "swarm1",
  nodeCount: 1,
  managerCount: 1,
};

export const EXAMPLE_IDS = { cluster: CLUSTER, org: ORG, deployment: DEPLOYMENT, command: COMMAND } as const;

/** Each command's own example payload (by type) and result (by result name), from commands/. */
const COMMAND_EXAMPLES = Object.fromEntries(
  COMMAND_TYPES.flatMap((t) => [
    [t, COMMANDS[t].example.payload],
    [COMMANDS[t].resultName, COMMANDS[t].example.result],
  ]),
) as { readonly [K in keyof (CommandPayloads & CommandResultMessages)]: MessageTypes[K] };

export const EXAMPLE_MESSAGES: { readonly [K in keyof MessageTypes]: MessageTypes[K] } = {
  ...COMMAND_EXAMPLES,
  Heartbeat: {
    clusterId: CLUSTER,
    agentVersion: "0.1.0",
    hostname: "manager-1",
    sentAt: 1_700_000_010_000,
    startedAt: 1_700_000_000_000,
    uptimeSeconds: 10,
    docker,
    dockerError: null,
    inventoryHash: HASH,
  },
  Goodbye: { clusterId: CLUSTER, sentAt: 1_700_000_020_000, reason: "stopping" },
  Inventory: {
    clusterId: CLUSTER,
    collectedAt: 1_700_000_000_000,
    hash: HASH,
    nodes: [
      {
        id: "n1abc",
        hostname: "manager-1",
        role: "manager",
        availability: "active",
        status: "ready",
        labels: { zone: "a" },
        nanoCpus: 2_000_000_000,
        memoryBytes: 4_294_967_296,
        engineVersion: "26.1.5",
        address: "10.0.0.1",
      },
    ],
    services: [
      {
        id: "s1",
        name: "web_app",
        image: "busybox:latest",
        mode: "replicated",
        desiredReplicas: 2,
        runningReplicas: 2,
        stack: "web",
        environmentId: "5b0a4c1e-6f7d-4a8b-9c0d-1e2f3a4b5c6d",
        updatedAt: "2024-01-01T00:00:00Z",
      },
    ],
    stacks: [{ name: "web", serviceCount: 1, desiredReplicas: 2, runningReplicas: 2, converged: true }],
  },
  DeploymentEvent: {
    deploymentId: DEPLOYMENT,
    seq: 0,
    ts: 1_700_000_000_000,
    level: "info",
    message: "Creating service web_app",
    data: { stream: "stdout" },
    outcome: null,
  },
  DeploymentEventBatch: {
    deploymentId: DEPLOYMENT,
    events: [
      {
        deploymentId: DEPLOYMENT,
        seq: 1,
        ts: 1_700_000_000_000,
        level: "info",
        message: "Creating service web_app",
        data: null,
        outcome: null,
      },
      {
        deploymentId: DEPLOYMENT,
        seq: 2,
        ts: 1_700_000_000_001,
        level: "info",
        message: "Updating service web_db",
        data: null,
        outcome: null,
      },
    ],
  },
  DockerEvent: {
    clusterId: CLUSTER,
    ts: 1_700_000_000_000,
    type: "service",
    action: "update",
    id: "s1",
    name: "web_app",
  },
  CommandEnvelope: {
    v: 1,
    id: COMMAND,
    type: "GetStatus",
    orgId: ORG,
    clusterId: CLUSTER,
    issuedAt: 1_700_000_000_000,
    expiresAt: 1_700_000_120_000,
    payload: { stackName: "web" },
    sig: SIG,
  },
  CommandResult: { ok: true, commandId: COMMAND, type: "GetStatus", result: { stackName: "web" } },
  CommandRejected: { ok: false, code: "EXPIRED", reason: "expired 5 ms ago", commandId: COMMAND, type: "GetStatus" },
  CommandRejectionReport: {
    clusterId: CLUSTER,
    ts: 1_700_000_000_000,
    subject: `cmd.${CLUSTER}.GetStatus`,
    commandId: COMMAND,
    type: "GetStatus",
    code: "BAD_SIGNATURE",
    reason: "the signature does not match the control plane's key",
  },
  ErrorReply: { ok: false, code: "CLUSTER_REVOKED", reason: "the cluster's agent was revoked" },
  RegisterRequest: {
    token: "syr_0123456789abcdef",
    publicKey: USER_KEY,
    hostname: "manager-1",
    agentVersion: "0.1.0",
    docker,
  },
  RegisterResponse: {
    clusterId: CLUSTER,
    orgId: ORG,
    jwt: JWT,
    natsUrls: ["nats://127.0.0.1:14222"],
    commandSigningPublicKey: ACCOUNT_KEY,
    expiresAt: 1_702_592_000_000,
  },
  RenewCredentialsRequest: { clusterId: CLUSTER, publicKey: USER_KEY, requestedAt: 1_700_000_000_000, sig: SIG },
  RenewCredentialsResponse: { ok: true, jwt: JWT, expiresAt: 1_702_592_000_000 },
};

/**
 * Every message of the agent protocol: a TypeScript interface and its JSON schema side by side. Each schema is
 * typed `JSONSchemaType<Interface>`, so the compiler rejects a schema that drifts from its interface; ajv then
 * rejects malformed messages at runtime, on both sides, with a reason.
 *
 * Conventions: times are milliseconds since the epoch; ids are subject tokens (see subjects.ts); `null` means
 * "known to be absent" and every field is always present.
 */
import { Ajv, type ErrorObject, type JSONSchemaType, type ValidateFunction } from "ajv";
import {
  COMMANDS,
  COMMAND_TYPES,
  type CommandPayloads,
  type CommandResultMessages,
  type CommandResults,
  type CommandType,
} from "./commands/index.js";
import { ProtocolError } from "./errors.js";
import { inventoryNode, type InventoryNode } from "./node.js";
import {
  count,
  epochMs,
  jsonObject,
  nonEmpty,
  NULL,
  publicKey,
  SEAL_KEY_PATTERN,
  sha256Hex,
  signature,
  SWARM_SERVICE_REQUIRED,
  swarmServiceProperties,
  text,
  type SwarmServiceSummary,
  token,
  uuid,
} from "./schema.js";

export * from "./commands/index.js";
export * from "./schema.js";

export const PROTOCOL_VERSION = 1;

// ---- Docker facts (registration and heartbeat) ----------------------------------------------------------------

export const SWARM_STATES = ["inactive", "pending", "active", "error", "locked"] as const;
export type SwarmState = (typeof SWARM_STATES)[number];

/** The engine facts the agent reports; structurally the agent's `EngineInfo`. */
export interface DockerFacts {
  dockerVersion: string;
  apiVersion: string;
  os: string;
  arch: string;
  swarmState: SwarmState;
  isManager: boolean;
  nodeId: string | null;
  clusterId: string | null;
  nodeCount: number;
  managerCount: number;
}
const dockerFacts: JSONSchemaType<DockerFacts> = {
  type: "object",
  additionalProperties: false,
  required: [
    "dockerVersion",
    "apiVersion",
    "os",
    "arch",
    "swarmState",
    "isManager",
    "nodeId",
    "clusterId",
    "nodeCount",
    "managerCount",
  ],
  properties: {
    dockerVersion: text(128),
    apiVersion: text(32),
    os: text(128),
    arch: text(64),
    swarmState: { type: "string", enum: SWARM_STATES },
    isManager: { type: "boolean" },
    nodeId: { anyOf: [text(128), NULL] },
    clusterId: { anyOf: [text(128), NULL] },
    nodeCount: count,
    managerCount: count,
  },
};

// ---- agent → control plane ------------------------------------------------------------------------------------

export interface Heartbeat {
  clusterId: string;
  agentVersion: string;
  hostname: string;
  sentAt: number;
  startedAt: number;
  uptimeSeconds: number;
  /** Null when the engine could not be reached; `dockerError` then says why. */
  docker: DockerFacts | null;
  dockerError: string | null;
  /** Hash of the last inventory sent, so the control plane notices one it missed. */
  inventoryHash: string | null;
  /**
   * How the agent reaches the hub: `leaf` through its own leaf node, whose JetStream domain keeps its deployment
   * events until the hub has sourced them. Absent from agents older than leaf mode (they are direct).
   */
  natsMode?: "direct" | "leaf";
}
/**
 * Published once on `agent.<clusterId>.goodbye` by an agent stopping on purpose (SIGTERM/SIGINT), so the control
 * plane shows the cluster offline at once instead of after the heartbeat threshold.
 */
export interface Goodbye {
  clusterId: string;
  sentAt: number;
  reason: "stopping";
}
const goodbye: JSONSchemaType<Goodbye> = {
  type: "object",
  additionalProperties: false,
  required: ["clusterId", "sentAt", "reason"],
  properties: { clusterId: token, sentAt: epochMs, reason: { type: "string", const: "stopping" } },
};

const heartbeat: JSONSchemaType<Heartbeat> = {
  type: "object",
  additionalProperties: false,
  required: [
    "clusterId",
    "agentVersion",
    "hostname",
    "sentAt",
    "startedAt",
    "uptimeSeconds",
    "docker",
    "dockerError",
    "inventoryHash",
  ],
  properties: {
    clusterId: token,
    agentVersion: nonEmpty(64),
    hostname: text(255),
    sentAt: epochMs,
    startedAt: epochMs,
    uptimeSeconds: count,
    docker: { anyOf: [dockerFacts, NULL] },
    dockerError: { anyOf: [text(1024), NULL] },
    inventoryHash: { anyOf: [sha256Hex, NULL] },
    natsMode: { type: "string", enum: ["direct", "leaf"], nullable: true },
  },
};

export type { InventoryNode } from "./node.js";

export interface InventoryService extends SwarmServiceSummary {
  /** The `com.docker.stack.namespace` label. */
  stack: string | null;
  /** The `io.stackyard.environment` ownership label (labels.ts): null for a service Stackyard did not deploy. */
  environmentId: string | null;
}
const inventoryService: JSONSchemaType<InventoryService> = {
  type: "object",
  additionalProperties: false,
  required: [...SWARM_SERVICE_REQUIRED, "stack", "environmentId"],
  properties: {
    ...swarmServiceProperties,
    stack: { anyOf: [text(255), NULL] },
    environmentId: { anyOf: [text(128), NULL] },
  },
};

export interface InventoryStack {
  name: string;
  serviceCount: number;
  desiredReplicas: number;
  runningReplicas: number;
  /** Every service runs at least as many replicas as desired. */
  converged: boolean;
}
const inventoryStack: JSONSchemaType<InventoryStack> = {
  type: "object",
  additionalProperties: false,
  required: ["name", "serviceCount", "desiredReplicas", "runningReplicas", "converged"],
  properties: {
    name: nonEmpty(255),
    serviceCount: count,
    desiredReplicas: count,
    runningReplicas: count,
    converged: { type: "boolean" },
  },
};

export interface Inventory {
  clusterId: string;
  collectedAt: number;
  /** sha256 of the canonical nodes + services + stacks: equal hashes mean nothing changed. */
  hash: string;
  nodes: InventoryNode[];
  services: InventoryService[];
  stacks: InventoryStack[];
}
const inventory: JSONSchemaType<Inventory> = {
  type: "object",
  additionalProperties: false,
  required: ["clusterId", "collectedAt", "hash", "nodes", "services", "stacks"],
  properties: {
    clusterId: token,
    collectedAt: epochMs,
    hash: sha256Hex,
    nodes: { type: "array", maxItems: 1_000, items: inventoryNode },
    services: { type: "array", maxItems: 5_000, items: inventoryService },
    stacks: { type: "array", maxItems: 5_000, items: inventoryStack },
  },
};

export const EVENT_LEVELS = ["debug", "info", "warn", "error"] as const;
export type EventLevel = (typeof EVENT_LEVELS)[number];
export const DEPLOYMENT_OUTCOMES = ["succeeded", "failed", "cancelled", "timed_out"] as const;
export type DeploymentOutcome = (typeof DEPLOYMENT_OUTCOMES)[number];

/** One line of deployment output or progress (StreamEvents), on `agent-events.<clusterId>.<deploymentId>`. */
export interface DeploymentEvent {
  deploymentId: string;
  /** Starts at the DeployStack's `firstSeq` and grows by one per event; the control plane orders and dedupes by it. */
  seq: number;
  ts: number;
  level: EventLevel;
  message: string;
  data: Record<string, unknown> | null;
  /** Set on the last event of a deployment only. */
  outcome: DeploymentOutcome | null;
}
const deploymentEvent: JSONSchemaType<DeploymentEvent> = {
  type: "object",
  additionalProperties: false,
  required: ["deploymentId", "seq", "ts", "level", "message", "data", "outcome"],
  properties: {
    deploymentId: token,
    seq: count,
    ts: epochMs,
    level: { type: "string", enum: EVENT_LEVELS },
    message: text(16 * 1024),
    data: { anyOf: [jsonObject, NULL] },
    outcome: { anyOf: [{ type: "string", enum: DEPLOYMENT_OUTCOMES }, NULL] },
  },
};

/** At most this many events, and about MAX_EVENT_BATCH_BYTES of them, travel in one DeploymentEventBatch. */
export const MAX_EVENT_BATCH_EVENTS = 500;
/**
 * Under the events streams' 64 KiB max_msg_size (services/deployments/jetstream.ts, agent/src/leaf-stream.ts) with
 * room for the framing: hundreds of ordinary lines. One event larger than this still travels, alone.
 */
export const MAX_EVENT_BATCH_BYTES = 60 * 1024;

/**
 * Consecutive events of one deployment in one message, on the same subject as a single DeploymentEvent: what an
 * agent sends when several lines are waiting while the previous publish is acknowledged (agent/src/events.ts), so
 * a chatty deploy or build costs one JetStream message and one ack per batch instead of per line. The control
 * plane takes both shapes (`parseDeploymentEvents`).
 */
export interface DeploymentEventBatch {
  deploymentId: string;
  events: DeploymentEvent[];
}
const deploymentEventBatch: JSONSchemaType<DeploymentEventBatch> = {
  type: "object",
  additionalProperties: false,
  required: ["deploymentId", "events"],
  properties: {
    deploymentId: token,
    events: { type: "array", minItems: 1, maxItems: MAX_EVENT_BATCH_EVENTS, items: deploymentEvent },
  },
};

export const DOCKER_EVENT_TYPES = ["service", "task", "node"] as const;
export type DockerEventType = (typeof DOCKER_EVENT_TYPES)[number];
/** The largest DockerEvent a receiver accepts: the schema's bounds with room for JSON escaping. */
export const MAX_DOCKER_EVENT_BYTES = 4 * 1024;
/** The largest CommandRejectionReport a receiver accepts (a 4096-character reason, escaped, and the rest). */
export const MAX_REJECTION_REPORT_BYTES = 32 * 1024;

/**
 * A Docker engine event worth telling the control plane about, on `agent.<clusterId>.docker-events`: a service or
 * node event, or a task event (a container event of a Swarm task: `id` is the task id, `name` the task's name).
 */
export interface DockerEvent {
  clusterId: string;
  ts: number;
  type: DockerEventType;
  action: string;
  id: string;
  name: string | null;
}
const dockerEvent: JSONSchemaType<DockerEvent> = {
  type: "object",
  additionalProperties: false,
  required: ["clusterId", "ts", "type", "action", "id", "name"],
  properties: {
    clusterId: token,
    ts: epochMs,
    type: { type: "string", enum: DOCKER_EVENT_TYPES },
    action: nonEmpty(64),
    id: nonEmpty(128),
    name: { anyOf: [text(255), NULL] },
  },
};

// ---- envelopes and replies --------------------------------------------------------------------------------------

/** A signed control plane → agent command; see envelope.ts for signing and verification. */
export interface CommandEnvelope {
  v: 1;
  id: string;
  type: CommandType;
  orgId: string;
  clusterId: string;
  issuedAt: number;
  expiresAt: number;
  payload: Record<string, unknown>;
  /** base64url ed25519 signature over the canonical form of every other field. */
  sig: string;
}
const commandEnvelope: JSONSchemaType<CommandEnvelope> = {
  type: "object",
  additionalProperties: false,
  required: ["v", "id", "type", "orgId", "clusterId", "issuedAt", "expiresAt", "payload", "sig"],
  properties: {
    v: { type: "integer", const: 1 },
    id: uuid,
    type: { type: "string", enum: COMMAND_TYPES },
    orgId: token,
    clusterId: token,
    issuedAt: epochMs,
    expiresAt: epochMs,
    payload: jsonObject,
    sig: signature,
  },
};

export interface CommandResult {
  ok: true;
  commandId: string;
  type: CommandType;
  /** `CommandResults[type]`, validated by `validateCommandResult`. */
  result: Record<string, unknown>;
}
const commandResult: JSONSchemaType<CommandResult> = {
  type: "object",
  additionalProperties: false,
  required: ["ok", "commandId", "type", "result"],
  properties: {
    ok: { type: "boolean", const: true },
    commandId: uuid,
    type: { type: "string", enum: COMMAND_TYPES },
    result: jsonObject,
  },
};

/** Any failed request; `code` is stable (UPPER_SNAKE), `reason` is for humans and never carries secrets. */
export interface ErrorReply {
  ok: false;
  code: string;
  reason: string;
}
/** A stable reply code: UPPER_SNAKE, at most 64 characters. */
export const STABLE_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;
/** The code of a refusal whose error carried no stable code of its own. */
export const FALLBACK_REPLY_CODE = "REJECTED";
export const MAX_REASON_CHARS = 4096;
const errorCode: JSONSchemaType<string> = { type: "string", pattern: STABLE_CODE.source };
const errorReplySchema: JSONSchemaType<ErrorReply> = {
  type: "object",
  additionalProperties: false,
  required: ["ok", "code", "reason"],
  properties: { ok: { type: "boolean", const: false }, code: errorCode, reason: text(MAX_REASON_CHARS) },
};

/** A refusal as the wire carries it: an unstable code becomes FALLBACK_REPLY_CODE, the reason is bounded. */
export function errorReply(code: string | undefined, reason: string): ErrorReply {
  return {
    ok: false,
    code: code !== undefined && STABLE_CODE.test(code) ? code : FALLBACK_REPLY_CODE,
    reason: reason.slice(0, MAX_REASON_CHARS),
  };
}

/** A command the agent refused or could not carry out. */
export interface CommandRejected extends ErrorReply {
  commandId: string | null;
  type: string | null;
}
const commandRejected: JSONSchemaType<CommandRejected> = {
  type: "object",
  additionalProperties: false,
  required: ["ok", "code", "reason", "commandId", "type"],
  properties: {
    ok: { type: "boolean", const: false },
    code: errorCode,
    reason: text(4096),
    commandId: { anyOf: [text(64), NULL] },
    type: { anyOf: [text(64), NULL] },
  },
};

export type CommandReply = CommandResult | CommandRejected;

/** Published on `agent.<clusterId>.rejected` for every command refused before it ran (possible attack). */
export interface CommandRejectionReport {
  clusterId: string;
  ts: number;
  subject: string;
  commandId: string | null;
  type: string | null;
  code: string;
  reason: string;
}
const commandRejectionReport: JSONSchemaType<CommandRejectionReport> = {
  type: "object",
  additionalProperties: false,
  required: ["clusterId", "ts", "subject", "commandId", "type", "code", "reason"],
  properties: {
    clusterId: token,
    ts: epochMs,
    subject: text(512),
    commandId: { anyOf: [text(64), NULL] },
    type: { anyOf: [text(64), NULL] },
    code: errorCode,
    reason: text(4096),
  },
};

// ---- registration (HTTPS) and renewal (NATS) --------------------------------------------------------------------

/** Body of `POST /v1/agent/register`. */
export interface RegisterRequest {
  token: string;
  /** The agent's own user NKey (U...); the seed never leaves the agent. */
  publicKey: string;
  /**
   * The agent's X25519 public key (raw, base64url) that secret values are sealed to (sealing.ts). Optional only
   * so agents older than sealing can still register; the control plane then refuses deploys with secrets.
   */
  sealPublicKey?: string;
  hostname: string;
  agentVersion: string;
  docker: DockerFacts;
  /**
   * "org": the agent can be a user of its org's own NATS account (nats/org-accounts.ts), which in leaf mode means
   * it forwards its leaf's buffered events itself (agent/src/leaf-forwarder.ts). Absent (older agents): a user of
   * the shared application account, whose leaf the hub's stream sources.
   */
  natsAccount?: NatsAccountKind;
}
/** Which NATS account an agent's credential is issued in (see RegisterRequest.natsAccount). */
export type NatsAccountKind = "org";
const registerRequest: JSONSchemaType<RegisterRequest> = {
  type: "object",
  additionalProperties: false,
  required: ["token", "publicKey", "hostname", "agentVersion", "docker"],
  properties: {
    token: { type: "string", minLength: 10, maxLength: 200 },
    publicKey: publicKey("U"),
    sealPublicKey: { type: "string", nullable: true, pattern: SEAL_KEY_PATTERN },
    hostname: text(255),
    agentVersion: nonEmpty(64),
    docker: dockerFacts,
    natsAccount: { type: "string", enum: ["org"], nullable: true },
  },
};

export interface RegisterResponse {
  clusterId: string;
  orgId: string;
  /** User JWT for `publicKey`, limited to the cluster's subjects. */
  jwt: string;
  natsUrls: string[];
  /** PEM of the CA that signed the NATS server's certificate; the agent pins it. Absent: a public CA. */
  natsCa?: string;
  /** Verifies command envelopes (an account-type NKey, A...). */
  commandSigningPublicKey: string;
  /** When the JWT expires, ms since the epoch. */
  expiresAt: number;
}
const jwtString: JSONSchemaType<string> = {
  type: "string",
  pattern: "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$",
};
const registerResponse: JSONSchemaType<RegisterResponse> = {
  type: "object",
  additionalProperties: true,
  required: ["clusterId", "orgId", "jwt", "natsUrls", "commandSigningPublicKey", "expiresAt"],
  properties: {
    clusterId: token,
    orgId: token,
    jwt: jwtString,
    natsUrls: {
      type: "array",
      minItems: 1,
      maxItems: 32,
      items: { type: "string", pattern: "^(nats|tls|wss?)://[^\\s]+$" },
    },
    natsCa: { type: "string", nullable: true, pattern: "^-----BEGIN CERTIFICATE-----", maxLength: 65536 },
    commandSigningPublicKey: publicKey("A"),
    expiresAt: epochMs,
  },
};

/** Sent on `agent.<clusterId>.renew`; signed with the agent's seed (see envelope.ts). */
export interface RenewCredentialsRequest {
  clusterId: string;
  publicKey: string;
  requestedAt: number;
  /** As at registration: "org" asks for a credential of the org's own account (signed with the rest). */
  natsAccount?: NatsAccountKind;
  sig: string;
}
const renewCredentialsRequest: JSONSchemaType<RenewCredentialsRequest> = {
  type: "object",
  additionalProperties: false,
  required: ["clusterId", "publicKey", "requestedAt", "sig"],
  properties: {
    clusterId: token,
    publicKey: publicKey("U"),
    requestedAt: epochMs,
    natsAccount: { type: "string", enum: ["org"], nullable: true },
    sig: signature,
  },
};

export interface RenewCredentialsResponse {
  ok: true;
  jwt: string;
  expiresAt: number;
}
const renewCredentialsResponse: JSONSchemaType<RenewCredentialsResponse> = {
  type: "object",
  additionalProperties: false,
  required: ["ok", "jwt", "expiresAt"],
  properties: { ok: { type: "boolean", const: true }, jwt: jwtString, expiresAt: epochMs },
};

/** The answer on `agent.<clusterId>.renew`: a fresh JWT, or a refusal. */
export type RenewReply = RenewCredentialsResponse | ErrorReply;

// ---- registry and validation -----------------------------------------------------------------------------------

export interface MessageTypes extends CommandPayloads, CommandResultMessages {
  Heartbeat: Heartbeat;
  Goodbye: Goodbye;
  Inventory: Inventory;
  DeploymentEvent: DeploymentEvent;
  DeploymentEventBatch: DeploymentEventBatch;
  DockerEvent: DockerEvent;
  CommandEnvelope: CommandEnvelope;
  CommandResult: CommandResult;
  CommandRejected: CommandRejected;
  CommandRejectionReport: CommandRejectionReport;
  ErrorReply: ErrorReply;
  RegisterRequest: RegisterRequest;
  RegisterResponse: RegisterResponse;
  RenewCredentialsRequest: RenewCredentialsRequest;
  RenewCredentialsResponse: RenewCredentialsResponse;
}
export type MessageType = keyof MessageTypes;

/** Every command's payload schema (by type) and result schema (by result name), from commands/. */
const COMMAND_SCHEMAS = Object.fromEntries(
  COMMAND_TYPES.flatMap((t) => [
    [t, COMMANDS[t].payload],
    [COMMANDS[t].resultName, COMMANDS[t].result],
  ]),
) as { readonly [K in keyof (CommandPayloads & CommandResultMessages)]: JSONSchemaType<MessageTypes[K]> };

export const MESSAGE_SCHEMAS: { readonly [K in MessageType]: JSONSchemaType<MessageTypes[K]> } = {
  ...COMMAND_SCHEMAS,
  Heartbeat: heartbeat,
  Goodbye: goodbye,
  Inventory: inventory,
  DeploymentEvent: deploymentEvent,
  DeploymentEventBatch: deploymentEventBatch,
  DockerEvent: dockerEvent,
  CommandEnvelope: commandEnvelope,
  CommandResult: commandResult,
  CommandRejected: commandRejected,
  CommandRejectionReport: commandRejectionReport,
  ErrorReply: errorReplySchema,
  RegisterRequest: registerRequest,
  RegisterResponse: registerResponse,
  RenewCredentialsRequest: renewCredentialsRequest,
  RenewCredentialsResponse: renewCredentialsResponse,
};

const ajv = new Ajv({ allErrors: true, strict: true });
const compiled = new Map<MessageType, ValidateFunction>();

function validatorFor<K extends MessageType>(type: K): ValidateFunction<MessageTypes[K]> {
  let validate = compiled.get(type);
  if (!validate) {
    validate = ajv.compile(MESSAGE_SCHEMAS[type]);
    compiled.set(type, validate);
  }
  return validate as ValidateFunction<MessageTypes[K]>;
}

const MAX_REASONS = 5;

/** Paths and rules only: never the offending values, which may be secrets. */
function describeErrors(errors: ErrorObject[] | null | undefined): string {
  const reasons = (errors ?? []).slice(0, MAX_REASONS).map((e) => {
    const where = e.instancePath || "/";
    const extra =
      e.keyword === "additionalProperties"
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : "";
    return `${where} ${e.message ?? "is invalid"}${extra}`;
  });
  const more = (errors?.length ?? 0) > MAX_REASONS ? `; and ${(errors?.length ?? 0) - MAX_REASONS} more` : "";
  return reasons.join("; ") + more;
}

/** Returns `value` typed as the message, or throws ProtocolError(MALFORMED_MESSAGE) saying what is wrong. */
export function validateMessage<K extends MessageType>(type: K, value: unknown): MessageTypes[K] {
  const validate = validatorFor(type);
  if (!validate(value)) {
    throw new ProtocolError("MALFORMED_MESSAGE", `${type}: ${describeErrors(validate.errors)}`);
  }
  return value;
}

export function validateCommandPayload<T extends CommandType>(type: T, value: unknown): CommandPayloads[T] {
  if (type === "DeployStack" || type === "RollbackStack") refusePlaintextSecrets(type, value);
  return validateMessage(type, value);
}

/**
 * The shape before sealing carried `secrets[].value` in the clear. Named apart from any other schema error, so
 * a control plane that still sends it (or anything forging that shape) gets a reason that says what is wrong.
 */
function refusePlaintextSecrets(type: string, value: unknown): void {
  const secrets = (value as { secrets?: unknown } | null)?.secrets;
  if (!Array.isArray(secrets)) return;
  const plain = secrets.findIndex((s) => typeof s === "object" && s !== null && "value" in s);
  if (plain >= 0) {
    throw new ProtocolError(
      "PLAINTEXT_SECRET_REFUSED",
      `${type}: /secrets/${plain} carries its value in the clear; secret values must be sealed to the agent's key ` +
        "(upgrade the control plane)",
    );
  }
}

export function validateCommandResult<T extends CommandType>(type: T, value: unknown): CommandResults[T] {
  return validateMessage(COMMANDS[type].resultName, value) as CommandResults[T];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Validates before sending, so our own bugs surface here rather than as a rejection on the other side. */
export function encodeMessage<K extends MessageType>(type: K, value: MessageTypes[K]): Uint8Array {
  return encoder.encode(JSON.stringify(validateMessage(type, value)));
}

/** The JSON of a message's bytes; `what` names the message in the error. */
function parseJson(what: string, data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data));
  } catch (err) {
    throw new ProtocolError("MALFORMED_MESSAGE", `${what}: not valid JSON`, { cause: err });
  }
}

export function decodeMessage<K extends MessageType>(type: K, data: Uint8Array): MessageTypes[K] {
  return validateMessage(type, parseJson(type, data));
}

/**
 * The events of a message on `agent-events.<clusterId>.<deploymentId>`: a DeploymentEvent or a DeploymentEventBatch,
 * every event of a batch of the batch's deployment.
 */
export function parseDeploymentEvents(value: unknown): DeploymentEvent[] {
  if (typeof value === "object" && value !== null && "events" in value) {
    const batch = validateMessage("DeploymentEventBatch", value);
    if (batch.events.some((e) => e.deploymentId !== batch.deploymentId))
      throw new ProtocolError("MALFORMED_MESSAGE", "DeploymentEventBatch: an event of another deployment");
    return batch.events;
  }
  return [validateMessage("DeploymentEvent", value)];
}

export function decodeDeploymentEvents(data: Uint8Array): DeploymentEvent[] {
  return parseDeploymentEvents(parseJson("DeploymentEvent", data));
}

// Every reply on the bus, refusals included, is encoded and decoded here and nowhere else.

function decodeReply<A extends MessageType, R extends MessageType>(
  what: string,
  data: Uint8Array,
  accepted: A,
  refused: R,
): MessageTypes[A] | MessageTypes[R] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data));
  } catch (err) {
    throw new ProtocolError("MALFORMED_MESSAGE", `${what}: not valid JSON`, { cause: err });
  }
  const ok = typeof parsed === "object" && parsed !== null && (parsed as { ok?: unknown }).ok;
  return ok === true ? validateMessage(accepted, parsed) : validateMessage(refused, parsed);
}

/** A reply to a command: a result or a rejection, told apart by `ok`. */
export const encodeCommandReply = (reply: CommandReply): Uint8Array =>
  reply.ok ? encodeMessage("CommandResult", reply) : encodeMessage("CommandRejected", reply);

export const decodeCommandReply = (data: Uint8Array): CommandReply =>
  decodeReply("command reply", data, "CommandResult", "CommandRejected");

/** A reply to a credential renewal: a fresh JWT or an ErrorReply, told apart by `ok`. */
export const encodeRenewReply = (reply: RenewReply): Uint8Array =>
  reply.ok ? encodeMessage("RenewCredentialsResponse", reply) : encodeMessage("ErrorReply", reply);

export const decodeRenewReply = (data: Uint8Array): RenewReply =>
  decodeReply("renewal reply", data, "RenewCredentialsResponse", "ErrorReply");

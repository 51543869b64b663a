/**
 * The NATS subject layout between the control plane and agents, and the permissions an agent's user JWT gets.
 *
 *   agent → control plane   agent.<clusterId>.heartbeat            core NATS, every 10 s
 *                           agent.<clusterId>.goodbye              core NATS, once when the agent stops on purpose
 *                           agent.<clusterId>.inventory            core NATS, on change + periodic resync
 *                           agent-events.<clusterId>.<deploymentId> JetStream (stream STACKYARD_AGENT_EVENTS)
 *                           agent.<clusterId>.docker-events        core NATS, service/node changes
 *                           agent.<clusterId>.rejected             core NATS, commands the agent refused
 *                           agent.<clusterId>.renew                request/reply, credential renewal
 *                           agent.<clusterId>.reply.<commandId>    the reply to each command (commandRequestOptions)
 *                           agent.<clusterId>.logs.<followId>      core NATS, lines of a log follow (FollowLogs)
 *                           agent.<clusterId>.exec.<sessionId>     core NATS, output of an exec session (StartExec)
 *   control plane → agent   cmd.<clusterId>.<CommandType>          request/reply, signed envelopes
 *                           exec-in.<clusterId>.<sessionId>        core NATS, input of an exec session (StartExec)
 *
 * The agent's own inbox is `_INBOX_<clusterId>.>` (set with the `inboxPrefix` connect option), so replies to its
 * requests (renewal, JetStream publish acks) reach it and nobody else's inbox is open to it. The agent never uses
 * the JetStream API (`$JS.API.>`): hubs block it for leaf connections, and publishing to a stream subject only
 * needs a plain request whose ack comes back to the inbox.
 *
 * Deployment events have their own root, `agent-events`, because of leaf nodes: a hub only tells a leaf about
 * interest the leaf's credentials may publish to, and it forwards a wildcard like the stream's `agent-events.>`
 * (which covers the agent's `agent-events.<clusterId>.>`) but not one like `agent.*.events.>` (which merely
 * overlaps `agent.<clusterId>.>`). Without that interest the leaf answers "no responders" and drops the event.
 *
 * An exec session's input has its own root, `exec-in`, rather than a subject under `cmd.<clusterId>.>`: the
 * command wildcard is the agent's signed-command dispatcher, and keystrokes are not signed commands (the session is:
 * StartExec). Only the control-plane user may publish there (agents publish under their own roots, integration and
 * live credentials publish nothing); the agent subscribes to the one session's subject, which its permission
 * `exec-in.<clusterId>.>` covers, so the interest crosses a leaf node to the hub like its command subscription.
 */
import type { MintUserOptions, SubjectPermissions, UserLimits } from "../credentials.js";
import { ProtocolError } from "./errors.js";

/** Cluster and deployment ids become subject tokens: no dots, wildcards or whitespace. UUIDs fit. */
const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

export function assertSubjectToken(value: string, what: string): string {
  if (!TOKEN.test(value)) {
    throw new ProtocolError("INVALID_SUBJECT_TOKEN", `${what} must match ${TOKEN.source} to be a subject token`);
  }
  return value;
}

export { COMMAND_TYPES, type CommandType } from "./commands/index.js";

import { COMMAND_TYPES, type CommandType } from "./commands/index.js";

export const isCommandType = (value: string): value is CommandType =>
  (COMMAND_TYPES as readonly string[]).includes(value);

export interface AgentSubjects {
  /** Everything the agent may publish except deployment events: `agent.<clusterId>.>`. */
  all: string;
  heartbeat: string;
  goodbye: string;
  inventory: string;
  dockerEvents: string;
  rejected: string;
  renew: string;
  deploymentEvents(deploymentId: string): string;
  /** Where the agent answers a command; see `commandRequestOptions`. */
  reply(commandId: string): string;
  /** Where the lines of one log follow go; the reader subscribes to exactly this (it works through leaf nodes). */
  logs(followId: string): string;
  /** Where an exec session's output goes; the gateway subscribes to exactly this, like a log follow's. */
  execOutput(sessionId: string): string;
}

export const DEPLOYMENT_EVENTS_ROOT = "agent-events";

export const deploymentEventsWildcard = (clusterId: string): string =>
  `${DEPLOYMENT_EVENTS_ROOT}.${assertSubjectToken(clusterId, "clusterId")}.>`;

export function agentSubjects(clusterId: string): AgentSubjects {
  const root = `agent.${assertSubjectToken(clusterId, "clusterId")}`;
  return {
    all: `${root}.>`,
    heartbeat: `${root}.heartbeat`,
    goodbye: `${root}.goodbye`,
    inventory: `${root}.inventory`,
    dockerEvents: `${root}.docker-events`,
    rejected: `${root}.rejected`,
    renew: `${root}.renew`,
    deploymentEvents: (deploymentId) =>
      `${DEPLOYMENT_EVENTS_ROOT}.${clusterId}.${assertSubjectToken(deploymentId, "deploymentId")}`,
    reply: (commandId) => `${root}.reply.${assertSubjectToken(commandId, "commandId")}`,
    logs: (followId) => `${root}.logs.${assertSubjectToken(followId, "followId")}`,
    execOutput: (sessionId) => `${root}.exec.${assertSubjectToken(sessionId, "sessionId")}`,
  };
}

export const EXEC_INPUT_ROOT = "exec-in";

/** Where the control plane sends an exec session's input; the agent subscribes to exactly this. */
export const execInputSubject = (clusterId: string, sessionId: string): string =>
  `${EXEC_INPUT_ROOT}.${assertSubjectToken(clusterId, "clusterId")}.${assertSubjectToken(sessionId, "sessionId")}`;

export const execInputWildcard = (clusterId: string): string =>
  `${EXEC_INPUT_ROOT}.${assertSubjectToken(clusterId, "clusterId")}.>`;

export const commandSubject = (clusterId: string, type: CommandType): string =>
  `cmd.${assertSubjectToken(clusterId, "clusterId")}.${type}`;

export const commandWildcard = (clusterId: string): string => `cmd.${assertSubjectToken(clusterId, "clusterId")}.>`;

export const agentInboxPrefix = (clusterId: string): string => `_INBOX_${assertSubjectToken(clusterId, "clusterId")}`;

/** What the control plane subscribes to, once for all agents (queue groups make it scale out). */
export const CONTROL_PLANE_SUBSCRIPTIONS = {
  /**
   * What the clusters service subscribes to (one queue subscription, dispatched by kind). Behind a leaf node only
   * this form works: a hub tells a leaf about a subscription only when it covers what the leaf's credentials may
   * publish (`agent.<clusterId>.>`), and `agent.>` does while `agent.*.heartbeat` merely overlaps it.
   */
  all: "agent.>",
  heartbeats: "agent.*.heartbeat",
  goodbyes: "agent.*.goodbye",
  inventory: "agent.*.inventory",
  dockerEvents: "agent.*.docker-events",
  rejected: "agent.*.rejected",
  renew: "agent.*.renew",
} as const;

/** Deployment events are persisted by JetStream so none is lost while the control plane restarts. */
export const AGENT_EVENTS_STREAM = {
  name: "STACKYARD_AGENT_EVENTS",
  subjects: [`${DEPLOYMENT_EVENTS_ROOT}.>`],
} as const;

/**
 * Store and forward behind a customer-side leaf node (agent/src/leaf.ts): the leaf runs JetStream in its own
 * domain and keeps the agent's deployment events in LEAF_EVENTS_STREAM (same subjects, never exported to the hub
 * directly); the hub's STACKYARD_AGENT_EVENTS sources that stream through the domain's API prefix, so events
 * written while the WAN link is down arrive, in order, once it is back.
 */
export const LEAF_EVENTS_STREAM = "STACKYARD_LEAF_EVENTS";

/**
 * Where a leaf-mode agent writes its deployment events on its own leaf (`agent-local.<clusterId>.<deploymentId>`,
 * the subjects of LEAF_EVENTS_STREAM). They never leave the leaf under this name (the leaf's remote denies it):
 * the agent's forwarder (agent/src/leaf-forwarder.ts) reads the stream and publishes each event, in order, on its
 * `agent-events.…` subject to the hub, where the org account's service import carries it into
 * STACKYARD_AGENT_EVENTS and the JetStream ack back. Leafs of agents older than org accounts kept their events
 * under `agent-events.…` and are sourced by the hub instead (leafEventsSource).
 */
export const LEAF_LOCAL_EVENTS_ROOT = "agent-local";

export const leafLocalEventsWildcard = (clusterId: string): string =>
  `${LEAF_LOCAL_EVENTS_ROOT}.${assertSubjectToken(clusterId, "clusterId")}.>`;

/** The hub subject of an event stored on the leaf under `agent-local.<c>.<d>` (or, before, `agent-events.<c>.<d>`). */
export function hubEventsSubjectOf(leafSubject: string): string | null {
  const parts = leafSubject.split(".");
  if (parts.length !== 3 || (parts[0] !== LEAF_LOCAL_EVENTS_ROOT && parts[0] !== DEPLOYMENT_EVENTS_ROOT)) return null;
  if (!TOKEN.test(parts[1]!) || !TOKEN.test(parts[2]!)) return null;
  return `${DEPLOYMENT_EVENTS_ROOT}.${parts[1]}.${parts[2]}`;
}

/** The leaf subject a leaf-mode agent writes an event to, for its hub subject. */
export function leafLocalSubjectOf(hubSubject: string): string {
  const parts = hubSubject.split(".");
  if (parts.length !== 3 || parts[0] !== DEPLOYMENT_EVENTS_ROOT)
    throw new ProtocolError("INVALID_SUBJECT_TOKEN", `"${hubSubject}" is not a deployment events subject`);
  return `${LEAF_LOCAL_EVENTS_ROOT}.${parts[1]}.${parts[2]}`;
}
/**
 * How long the leaf keeps events, as long as the hub does (services/deployments/jetstream.ts): a cut longer than
 * that is a lost site. Also how long a link-down cluster's RUNNING deployment may wait for its outcome.
 */
export const LEAF_EVENTS_MAX_AGE_MS = 3 * 24 * 3600 * 1000;

/** The JetStream domain of a cluster's leaf node. One per cluster, so the hub can address each leaf's API. */
export const leafJetStreamDomain = (clusterId: string): string => `leaf-${assertSubjectToken(clusterId, "clusterId")}`;

/** The prefix of the subject the hub's source consumer delivers on (`<prefix>.S.<random>`). */
export const leafSourceDeliverPrefix = (clusterId: string): string =>
  `agent-src.${assertSubjectToken(clusterId, "clusterId")}`;

/** How the hub's events stream addresses one leaf's events stream (JetStream `sources[].external`). */
export function leafEventsSource(clusterId: string): { name: string; external: { api: string; deliver: string } } {
  return {
    name: LEAF_EVENTS_STREAM,
    external: { api: `$JS.${leafJetStreamDomain(clusterId)}.API`, deliver: leafSourceDeliverPrefix(clusterId) },
  };
}

/**
 * The complete permission set of an agent's user JWT. No `$JS.API.>`: the agent must work through leaf nodes,
 * where the hub blocks it. What the hub's sourcing of a leaf's events needs, and nothing more (nats-server 2.9,
 * stream.go setSourceConsumer): hub → leaf the consumer-create request on this cluster's domain and the replies
 * to the leaf consumer's flow-control messages (`$JS.FC.<stream>.…`); leaf → hub the answer to the create request
 * (`$JSC.R.<random>`) and the deliveries on this cluster's own deliver prefix.
 */
export function agentPermissions(clusterId: string): SubjectPermissions {
  return {
    publish: [
      agentSubjects(clusterId).all,
      deploymentEventsWildcard(clusterId),
      `${leafSourceDeliverPrefix(clusterId)}.>`,
      "$JSC.R.*",
    ],
    subscribe: [
      commandWildcard(clusterId),
      execInputWildcard(clusterId),
      `${agentInboxPrefix(clusterId)}.>`,
      `$JS.${leafJetStreamDomain(clusterId)}.API.CONSUMER.CREATE.${LEAF_EVENTS_STREAM}`,
      `$JS.FC.${LEAF_EVENTS_STREAM}.>`,
    ],
  };
}

/**
 * Everything but the key and expiry that `mintUserJwt` needs for an agent. Connection types: a direct client,
 * or a customer-side leaf node using the same creds. No `allowResponses`: replies to commands go to
 * `agent.<clusterId>.reply.<commandId>` (see `commandRequestOptions`), which also works through a leaf node,
 * where the server does not carry response permissions.
 */
/**
 * What one agent's user JWT allows beyond its subjects. An agent holds a handful of subscriptions (its command
 * wildcard, its inbox, one per exec session: at most MAX_EXEC_SESSIONS); its largest messages are log replies (at most MAX_LOG_BYTES of lines, JSON-escaped), so
 * the payload cap stays at the server's max_payload. Connection counts exist only per account in NATS JWTs.
 */
export const AGENT_USER_LIMITS = {
  subs: 32,
  payload: 1024 * 1024,
  data: -1,
} as const satisfies UserLimits;

export function agentUserJwtOptions(
  clusterId: string,
): Pick<MintUserOptions, "name" | "permissions" | "allowedConnectionTypes" | "allowResponses" | "limits"> {
  return {
    name: `agent-${assertSubjectToken(clusterId, "clusterId")}`,
    permissions: agentPermissions(clusterId),
    allowedConnectionTypes: ["STANDARD", "LEAFNODE"],
    allowResponses: false,
    limits: { ...AGENT_USER_LIMITS },
  };
}

/**
 * Request options for sending a command: `nc.request(commandSubject(c, type), data, commandRequestOptions(c, id,
 * timeoutMs))`. The reply comes back on a subject the agent may publish to, whether it is connected directly or
 * through a leaf node.
 */
export function commandRequestOptions(
  clusterId: string,
  commandId: string,
  timeoutMs: number,
): { noMux: true; reply: string; timeout: number } {
  return { noMux: true, reply: agentSubjects(clusterId).reply(commandId), timeout: timeoutMs };
}

export type AgentSubjectKind =
  "heartbeat" | "goodbye" | "inventory" | "docker-events" | "rejected" | "renew" | "events" | "reply";

export interface ParsedAgentSubject {
  clusterId: string;
  kind: AgentSubjectKind;
  /** The deployment id of `events`, the command id of `reply`. */
  id: string | null;
}

/** For control-plane consumers of the wildcards above: which cluster sent this, and what is it. */
export function parseAgentSubject(subject: string): ParsedAgentSubject | null {
  const parts = subject.split(".");
  // `agent-local.…`: a leaf's own copy, sourced by the hub from a leaf whose credential predates org accounts while
  // its agent already forwards (the forwarded copy has the same message id: the stream keeps one of the two).
  if (parts[0] === DEPLOYMENT_EVENTS_ROOT || parts[0] === LEAF_LOCAL_EVENTS_ROOT) {
    return parts.length === 3 && TOKEN.test(parts[1]!) && TOKEN.test(parts[2]!)
      ? { clusterId: parts[1]!, kind: "events", id: parts[2]! }
      : null;
  }
  if (parts[0] !== "agent" || parts.length < 3) return null;
  const clusterId = parts[1]!;
  if (!TOKEN.test(clusterId)) return null;
  const kind = parts[2]!;
  if (parts.length === 3) {
    if (
      kind === "heartbeat" ||
      kind === "goodbye" ||
      kind === "inventory" ||
      kind === "docker-events" ||
      kind === "rejected" ||
      kind === "renew"
    ) {
      return { clusterId, kind, id: null };
    }
    return null;
  }
  if (parts.length === 4 && kind === "reply" && TOKEN.test(parts[3]!)) {
    return { clusterId, kind, id: parts[3]! };
  }
  return null;
}

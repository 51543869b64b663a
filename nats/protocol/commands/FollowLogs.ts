/**
 * FollowLogs (control plane → agent): Start following a service's logs (`docker service logs --follow`); the agent
 * publishes what it reads on `agent.<clusterId>.logs.<followId>` (LogFollowMessage) until the lease runs out
 * (RenewLogs extends it), StopLogs ends it, the service goes away, or the agent stops.
 */
import type { JSONSchemaType } from "ajv";
import { NULL, serviceKey, stackName, text, token } from "../schema.js";
import type { LogLine } from "./GetLogs.js";
import type { CommandSpec } from "./spec.js";

/** Lines of history sent before the live ones; kept small, the snapshot route serves the deep history. */
export const MAX_FOLLOW_TAIL = 1_000;
/** The filter is a plain substring (no regex: a pattern from a user must not be able to stall the agent). */
export const MAX_FOLLOW_GREP_CHARS = 200;
export const MIN_FOLLOW_LEASE_SECONDS = 5;
export const MAX_FOLLOW_LEASE_SECONDS = 120;

export interface FollowLogs {
  /** Chosen by the control plane (a UUID): names the follow in RenewLogs/StopLogs and in the subject. */
  followId: string;
  stackName: string;
  service: string;
  tail: number;
  /** Seconds since the epoch, as Docker takes it. */
  since: number | null;
  /** Only lines containing this text (case-sensitive substring). */
  grep: string | null;
  /** The follow ends this long after its start or last renewal. */
  leaseSeconds: number;
}
const followLogs: JSONSchemaType<FollowLogs> = {
  type: "object",
  additionalProperties: false,
  required: ["followId", "stackName", "service", "tail", "since", "grep", "leaseSeconds"],
  properties: {
    followId: token,
    stackName,
    service: serviceKey,
    tail: { type: "integer", minimum: 0, maximum: MAX_FOLLOW_TAIL },
    since: { anyOf: [{ type: "integer", minimum: 0 }, NULL] },
    grep: { anyOf: [{ type: "string", minLength: 1, maxLength: MAX_FOLLOW_GREP_CHARS }, NULL] },
    leaseSeconds: { type: "integer", minimum: MIN_FOLLOW_LEASE_SECONDS, maximum: MAX_FOLLOW_LEASE_SECONDS },
  },
};

export interface FollowLogsResult {
  followId: string;
  /** The full Swarm service name being followed. */
  service: string;
  /** Where the lines are published (core NATS, at most once). */
  subject: string;
}
const followLogsResult: JSONSchemaType<FollowLogsResult> = {
  type: "object",
  additionalProperties: false,
  required: ["followId", "service", "subject"],
  properties: { followId: token, service: text(256), subject: text(256) },
};

/** Why a follow ended, as told in its last message. */
export type LogFollowEndReason = "stopped" | "lease_expired" | "service_gone" | "agent_stopping" | "error";

/** What the agent publishes on a follow's subject: a batch of lines, a notice (rate limit), or the end. */
export type LogFollowMessage =
  | { type: "lines"; lines: LogLine[] }
  | { type: "notice"; message: string }
  | { type: "end"; reason: LogFollowEndReason; message: string | null };

export const FollowLogsCommand: CommandSpec<FollowLogs, FollowLogsResult, "FollowLogsResult"> = {
  resultName: "FollowLogsResult",
  payload: followLogs,
  result: followLogsResult,
  errorCodes: ["SERVICE_NOT_FOUND", "TOO_MANY_LOG_FOLLOWS", "LOG_FOLLOW_EXISTS"],
  example: {
    payload: {
      followId: "4f6c1a2b-3d4e-4f50-8a9b-0c1d2e3f4a5b",
      stackName: "web",
      service: "app",
      tail: 50,
      since: null,
      grep: "GET /health",
      leaseSeconds: 30,
    },
    result: {
      followId: "4f6c1a2b-3d4e-4f50-8a9b-0c1d2e3f4a5b",
      service: "web_app",
      subject: "agent.0b0f7c8e-3d7a-4a59-9a53-5f1a2c3d4e5f.logs.4f6c1a2b-3d4e-4f50-8a9b-0c1d2e3f4a5b",
    },
  },
};

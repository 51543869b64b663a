/**
 * A Swarm service's spec reduced to the fields drift is judged on (the agent's GetStatus reports it per service;
 * the control plane normalises the desired compose to the same shape and compares field by field). Values are
 * in Swarm's terms: durations in nanoseconds, CPUs in NanoCPUs, memory in bytes, lists sorted. A policy field
 * Swarm did not set is null (Swarm then applies its default).
 */
import type { JSONSchemaType } from "ajv";
import { NULL, count, stringMap, text } from "./schema.js";

export interface SpecPort {
  /** Null when Swarm picks the published port (or none is published). */
  published: number | null;
  target: number;
  protocol: string;
  mode: string;
}
export interface SpecFile {
  /** The Swarm object's name (`<stack>_<key>` or the external name). */
  source: string;
  /** The file name in the container (compose `target`, else the key). */
  target: string;
}
export interface SpecMount {
  type: string;
  source: string;
  target: string;
  readOnly: boolean;
}
export interface SpecResources {
  limitNanoCpus: number;
  limitMemoryBytes: number;
  reserveNanoCpus: number;
  reserveMemoryBytes: number;
}
export interface SpecPlacement {
  constraints: string[];
  /** Spread descriptors, in order. */
  preferences: string[];
  maxReplicasPerNode: number;
}
export interface SpecUpdatePolicy {
  parallelism: number | null;
  delayNs: number | null;
  failureAction: string | null;
  monitorNs: number | null;
  maxFailureRatio: number | null;
  order: string | null;
}
export interface SpecRestartPolicy {
  condition: string | null;
  delayNs: number | null;
  maxAttempts: number | null;
  windowNs: number | null;
}
export interface LiveServiceSpec {
  /** As the spec names it, digest included (`name:tag@sha256:…`). */
  image: string;
  /** ContainerSpec.Command (compose `entrypoint`); null when not set. */
  entrypoint: string[] | null;
  /** ContainerSpec.Args (compose `command`); null when not set. */
  command: string[] | null;
  env: string[];
  /** Service labels (compose `deploy.labels`), Swarm's and Stackyard's own left out. */
  labels: Record<string, string>;
  /** Container labels (compose `labels`), Swarm's and Stackyard's own left out. */
  containerLabels: Record<string, string>;
  ports: SpecPort[];
  secrets: SpecFile[];
  configs: SpecFile[];
  mounts: SpecMount[];
  resources: SpecResources;
  placement: SpecPlacement;
  updateConfig: SpecUpdatePolicy | null;
  restartPolicy: SpecRestartPolicy | null;
  /** Null for a global service. */
  replicas: number | null;
}

/** Labels Swarm (`com.docker.stack.*`) or Stackyard (`io.stackyard.*`) put on a service: not the user's spec. */
export const isSystemLabel = (key: string): boolean =>
  key.startsWith("com.docker.stack.") || key.startsWith("io.stackyard.");

export const userLabels = (labels: Record<string, string> | null | undefined): Record<string, string> =>
  Object.fromEntries(
    Object.entries(labels ?? {})
      .filter(([k]) => !isSystemLabel(k))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );

const strings = (maxItems: number, maxLength = 4096): JSONSchemaType<string[]> => ({
  type: "array",
  maxItems,
  items: text(maxLength),
});
const nullableStrings = (maxItems: number): JSONSchemaType<string[] | null> => ({
  type: "array",
  nullable: true,
  maxItems,
  items: text(4096),
});
const nullableInt = { anyOf: [{ type: "integer" }, NULL] } as const;
const nullableNumber = { anyOf: [{ type: "number" }, NULL] } as const;
const nullableText = { anyOf: [text(64), NULL] } as const;

const specFile: JSONSchemaType<SpecFile> = {
  type: "object",
  additionalProperties: false,
  required: ["source", "target"],
  properties: { source: text(255), target: text(1024) },
};

export const liveServiceSpec: JSONSchemaType<LiveServiceSpec> = {
  type: "object",
  additionalProperties: false,
  required: [
    "image",
    "entrypoint",
    "command",
    "env",
    "labels",
    "containerLabels",
    "ports",
    "secrets",
    "configs",
    "mounts",
    "resources",
    "placement",
    "updateConfig",
    "restartPolicy",
    "replicas",
  ],
  properties: {
    image: text(1024),
    entrypoint: nullableStrings(256),
    command: nullableStrings(256),
    env: strings(1_000, 32_768),
    labels: stringMap(1_000),
    containerLabels: stringMap(1_000),
    ports: {
      type: "array",
      maxItems: 1_000,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["published", "target", "protocol", "mode"],
        properties: {
          published: { anyOf: [count, NULL] },
          target: count,
          protocol: text(16),
          mode: text(16),
        },
      },
    },
    secrets: { type: "array", maxItems: 1_000, items: specFile },
    configs: { type: "array", maxItems: 1_000, items: specFile },
    mounts: {
      type: "array",
      maxItems: 1_000,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["type", "source", "target", "readOnly"],
        properties: { type: text(16), source: text(4096), target: text(4096), readOnly: { type: "boolean" } },
      },
    },
    resources: {
      type: "object",
      additionalProperties: false,
      required: ["limitNanoCpus", "limitMemoryBytes", "reserveNanoCpus", "reserveMemoryBytes"],
      properties: { limitNanoCpus: count, limitMemoryBytes: count, reserveNanoCpus: count, reserveMemoryBytes: count },
    },
    placement: {
      type: "object",
      additionalProperties: false,
      required: ["constraints", "preferences", "maxReplicasPerNode"],
      properties: { constraints: strings(256, 1024), preferences: strings(256, 1024), maxReplicasPerNode: count },
    },
    updateConfig: {
      type: "object",
      nullable: true,
      additionalProperties: false,
      required: ["parallelism", "delayNs", "failureAction", "monitorNs", "maxFailureRatio", "order"],
      properties: {
        parallelism: nullableInt,
        delayNs: nullableInt,
        failureAction: nullableText,
        monitorNs: nullableInt,
        maxFailureRatio: nullableNumber,
        order: nullableText,
      },
    },
    restartPolicy: {
      type: "object",
      nullable: true,
      additionalProperties: false,
      required: ["condition", "delayNs", "maxAttempts", "windowNs"],
      properties: { condition: nullableText, delayNs: nullableInt, maxAttempts: nullableInt, windowNs: nullableInt },
    },
    replicas: { anyOf: [count, NULL] },
  },
} as unknown as JSONSchemaType<LiveServiceSpec>;

export const UPDATE_STATES = [
  "updating",
  "paused",
  "completed",
  "rollback_started",
  "rollback_paused",
  "rollback_completed",
] as const;
export type SwarmUpdateState = (typeof UPDATE_STATES)[number];

/** Swarm's UpdateStatus of a service: its last rolling update (or rollback) and Swarm's message about it. */
export interface SwarmUpdateStatus {
  state: SwarmUpdateState;
  message: string;
}
export const swarmUpdateStatus: JSONSchemaType<SwarmUpdateStatus> = {
  type: "object",
  additionalProperties: false,
  required: ["state", "message"],
  properties: { state: { type: "string", enum: [...UPDATE_STATES] }, message: text(4096) },
};

/** DeployStack (control plane → agent): Deploy a rendered compose file as a Swarm stack (`docker stack deploy -c -`), streaming events. */
import type { JSONSchemaType } from "ajv";
import { MAX_COMPOSE_CHARS, nonEmpty, sealedValue, stackName, token, type SealedValue } from "../schema.js";
import type { CommandSpec } from "./spec.js";

export interface SecretPayload {
  /** The Swarm secret name the compose file refers to, e.g. `shop-prod_db_password_3f9c0a1b2c4d`. */
  name: string;
  /** The environment secret it is a version of (`db_password`): versions of one secret are kept and pruned together. */
  secret: string;
  /**
   * The value, sealed to the agent's X25519 key (sealing.ts) with the context
   * `{ clusterId, deploymentId, kind: "secret", name }`; a plaintext `value` is refused (PLAINTEXT_SECRET_REFUSED).
   */
  sealed: SealedValue;
}
const secretPayload: JSONSchemaType<SecretPayload> = {
  type: "object",
  additionalProperties: false,
  required: ["name", "secret", "sealed"],
  properties: {
    name: { type: "string", pattern: "^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$" },
    secret: { type: "string", pattern: "^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$" },
    sealed: sealedValue,
  },
};

/** A registry login for this deploy: `sealed` opens (kind `registry`, name = `registry`) to JSON `{ username, password }`. */
export interface RegistryAuthPayload {
  /** host[:port] as image references name it; `docker.io` for Docker Hub. */
  registry: string;
  sealed: SealedValue;
}
const registryAuthPayload: JSONSchemaType<RegistryAuthPayload> = {
  type: "object",
  additionalProperties: false,
  required: ["registry", "sealed"],
  properties: {
    registry: { type: "string", pattern: "^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$" },
    sealed: sealedValue,
  },
};

/**
 * A release hook (stackyard.yaml): a one-off task the agent runs as a Swarm job (`replicated-job`) with the named
 * compose service's image, environment, secrets and networks, before (`pre_deploy`) or after (`post_deploy`) the
 * services update. Its exit code decides: a failed pre_deploy leaves the stack unchanged.
 */
export interface DeployHookPayload {
  phase: "pre_deploy" | "post_deploy";
  /** A service of `composeYaml` (the compose name, without the stack prefix). */
  service: string;
  /** Exec form; replaces the image's entrypoint and command. */
  command: string[];
  timeoutSeconds: number;
}
const deployHookPayload: JSONSchemaType<DeployHookPayload> = {
  type: "object",
  additionalProperties: false,
  required: ["phase", "service", "command", "timeoutSeconds"],
  properties: {
    phase: { type: "string", enum: ["pre_deploy", "post_deploy"] },
    service: { type: "string", pattern: "^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$" },
    command: { type: "array", minItems: 1, maxItems: 64, items: { type: "string", maxLength: 4096 } },
    timeoutSeconds: { type: "integer", minimum: 1, maximum: 3600 },
  },
};

/** The longest health grace a release may declare for a service (stackyard-manifest.schema.json says the same). */
export const MAX_HEALTH_GRACE_SECONDS = 3600;

export const RESOLVE_IMAGE_MODES = ["always", "changed", "never"] as const;
export type ResolveImageMode = (typeof RESOLVE_IMAGE_MODES)[number];

export interface DeployStack {
  deploymentId: string;
  stackName: string;
  /** The fully rendered compose file, passed to `docker stack deploy -c -`. */
  composeYaml: string;
  /** Variables for compose interpolation. */
  env: Record<string, string>;
  secrets: SecretPayload[];
  /**
   * The environment's registry credentials, one per registry host: the agent checks every image against its
   * registry before changing anything, and hands them to `docker stack deploy --with-registry-auth` through a
   * temporary DOCKER_CONFIG. Absent or empty: no credentials (older control planes never send it).
   */
  registryAuth?: RegistryAuthPayload[];
  /**
   * The release's hooks, at most one per phase. Sent only when the release has some: an agent older than hooks
   * refuses the unknown field (the command's schema is closed), so the deployment fails before anything changes
   * instead of running without its migrations.
   */
  hooks?: DeployHookPayload[];
  /**
   * The release's health grace per compose service (stackyard.yaml `services.<name>.healthGraceSeconds`): how long
   * the agent holds a converged service (after its healthcheck passed, when it has one) before it counts as ready;
   * a service not named keeps the agent's default (ready at once when healthchecked, else its stabilisation
   * window). Sent only when the release declares some, as with hooks: an older agent refuses rather than ignores it.
   */
  healthGraceSeconds?: Record<string, number>;
  /** Ownership labels (labels.ts) the agent puts on the secrets it creates; the compose file carries them too. */
  labels: Record<string, string>;
  /**
   * Deploy even when services of the stack are not labelled as this environment's (`labels`); without it the
   * agent refuses with SWARM_STACK_NOT_OWNED.
   */
  adopt: boolean;
  /** Versions of each secret left on the swarm after a successful deploy, the current one included. */
  keepSecretVersions: number;
  prune: boolean;
  resolveImage: ResolveImageMode;
  withRegistryAuth: boolean;
  timeoutSeconds: number;
  /**
   * The seq of the agent's first event for this deployment: the control plane has already written the
   * deployment's events before it, so both numberings form one gap-free sequence.
   */
  firstSeq: number;
}
export const deployStackProperties = {
  deploymentId: token,
  stackName,
  composeYaml: nonEmpty(MAX_COMPOSE_CHARS),
  env: {
    type: "object",
    maxProperties: 1_000,
    required: [],
    propertyNames: { pattern: "^[A-Za-z_][A-Za-z0-9_]{0,255}$" },
    additionalProperties: { type: "string", maxLength: 64 * 1024 },
  },
  secrets: { type: "array", maxItems: 200, items: secretPayload },
  registryAuth: { type: "array", nullable: true, maxItems: 32, items: registryAuthPayload },
  hooks: { type: "array", nullable: true, maxItems: 2, items: deployHookPayload },
  healthGraceSeconds: {
    type: "object",
    nullable: true,
    maxProperties: 200,
    required: [],
    propertyNames: { pattern: "^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$" },
    additionalProperties: { type: "integer", minimum: 0, maximum: MAX_HEALTH_GRACE_SECONDS },
  },
  labels: {
    type: "object",
    maxProperties: 16,
    required: [],
    propertyNames: { pattern: "^[a-z0-9][a-z0-9._-]{0,127}$" },
    additionalProperties: { type: "string", maxLength: 256 },
  },
  adopt: { type: "boolean" },
  keepSecretVersions: { type: "integer", minimum: 1, maximum: 50 },
  prune: { type: "boolean" },
  resolveImage: { type: "string", enum: RESOLVE_IMAGE_MODES },
  withRegistryAuth: { type: "boolean" },
  timeoutSeconds: { type: "integer", minimum: 1, maximum: 24 * 3600 },
  firstSeq: { type: "integer", minimum: 0, maximum: 1_000_000 },
} as const;
export const deployStackRequired = [
  "deploymentId",
  "stackName",
  "composeYaml",
  "env",
  "secrets",
  "labels",
  "adopt",
  "keepSecretVersions",
  "prune",
  "resolveImage",
  "withRegistryAuth",
  "timeoutSeconds",
  "firstSeq",
] as const;
const deployStack: JSONSchemaType<DeployStack> = {
  type: "object",
  additionalProperties: false,
  required: deployStackRequired,
  properties: deployStackProperties,
};

export interface DeployStackResult {
  deploymentId: string;
  /** `duplicate`: a deployment with this id already ran or runs; nothing new was started. */
  status: "started" | "duplicate";
}
export const deployStackResult: JSONSchemaType<DeployStackResult> = {
  type: "object",
  additionalProperties: false,
  required: ["deploymentId", "status"],
  properties: { deploymentId: token, status: { type: "string", enum: ["started", "duplicate"] } },
};

export const DEPLOY_EXAMPLE: DeployStack = {
  deploymentId: "d3f1a2b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b",
  stackName: "web",
  composeYaml: "services:\n  app:\n    image: busybox\n",
  env: { TAG: "1.2.3" },
  secrets: [
    {
      name: "web-prod_db_password_3f9c0a1b2c4d",
      secret: "db_password",
      sealed: {
        v: 1,
        kid: "5c1f0e3a9b7d2c48",
        epk: "2Zb3m1fYxQ0kPjE4u8W6aT9sLrVnHcGdKoI7eAyBwUg",
        iv: "Y2hvb3NlLWl2LTEy",
        ct: "q5X0v1z3r6t8w2y4u7i9o0p1a3s5d7f9g2h4j6k8l0",
      },
    },
  ],
  labels: {
    "io.stackyard.environment": "5b0a4c1e-6f7d-4a8b-9c0d-1e2f3a4b5c6d",
    "io.stackyard.org": "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
    "io.stackyard.release": "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b",
    "io.stackyard.deployment": "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
  },
  adopt: false,
  keepSecretVersions: 3,
  prune: true,
  resolveImage: "never",
  withRegistryAuth: false,
  timeoutSeconds: 300,
  firstSeq: 2,
};

export const DeployStackCommand: CommandSpec<DeployStack, DeployStackResult, "DeployStackResult"> = {
  resultName: "DeployStackResult",
  payload: deployStack,
  result: deployStackResult,
  errorCodes: [
    "STACK_BUSY",
    "AGENT_STOPPING",
    "SEAL_KEY_MISSING",
    "SEAL_KEY_INVALID",
    "SEAL_WRONG_KEY",
    "SEAL_INVALID",
  ],
  example: {
    payload: DEPLOY_EXAMPLE,
    result: { deploymentId: "d3f1a2b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b", status: "started" },
  },
};

/**
 * JSON-schema fragments and limits shared by every protocol message (messages.ts) and command (commands/).
 */
import type { JSONSchemaType } from "ajv";

/** Stays well under the server's 1 MB max_payload together with the rest of a DeployStack envelope. */
export const MAX_COMPOSE_CHARS = 512 * 1024;
/** Docker's own limit for a secret is 500 KiB; the sum must still fit one message. */
export const MAX_SECRET_VALUE_CHARS = 256 * 1024;
export const MAX_LOG_BYTES = 512 * 1024;
export const MAX_LOG_TAIL = 10_000;
export const MAX_REPLICAS = 1_000;

export const NULL = { type: "null", nullable: true } as const;
export const TOKEN_PATTERN = "^[A-Za-z0-9_-]{1,64}$";
export const token: JSONSchemaType<string> = { type: "string", pattern: TOKEN_PATTERN };
export const uuid: JSONSchemaType<string> = {
  type: "string",
  pattern: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
};
export const text = (maxLength: number): JSONSchemaType<string> => ({ type: "string", maxLength });
export const nonEmpty = (maxLength: number): JSONSchemaType<string> => ({ type: "string", minLength: 1, maxLength });
export const epochMs: JSONSchemaType<number> = { type: "integer", minimum: 0 };
export const count: JSONSchemaType<number> = { type: "integer", minimum: 0 };
/** Docker stack names (compose project names): lowercase, digits, `-` and `_`. */
export const STACK_NAME_PATTERN = "^[a-z0-9][a-z0-9_-]{0,62}$";
export const stackName: JSONSchemaType<string> = { type: "string", pattern: STACK_NAME_PATTERN };
/** A service key inside a compose file; the Swarm service is `<stackName>_<service>`. */
export const serviceKey: JSONSchemaType<string> = { type: "string", pattern: "^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$" };
export const stringMap = (maxProperties: number): JSONSchemaType<Record<string, string>> => ({
  type: "object",
  maxProperties,
  required: [],
  additionalProperties: { type: "string", maxLength: 64 * 1024 },
});
export const publicKey = (prefix: "U" | "A"): JSONSchemaType<string> => ({
  type: "string",
  pattern: `^${prefix}[A-Z2-7]{55}$`,
});
export const signature: JSONSchemaType<string> = { type: "string", pattern: "^[A-Za-z0-9_-]{86}$" };
export const sha256Hex: JSONSchemaType<string> = { type: "string", pattern: "^[0-9a-f]{64}$" };
export const jsonObject: JSONSchemaType<Record<string, unknown>> = {
  type: "object",
  required: [],
  additionalProperties: true,
};

/** A Swarm service as every message describes it (inventory, status): one shape, one schema. */
export interface SwarmServiceSummary {
  id: string;
  /** The Swarm service name (`<stack>_<service>` for stack services). */
  name: string;
  image: string;
  mode: "replicated" | "global";
  desiredReplicas: number;
  runningReplicas: number;
  updatedAt: string;
}
export const swarmServiceProperties = {
  id: nonEmpty(128),
  name: nonEmpty(255),
  image: text(1024),
  mode: { type: "string", enum: ["replicated", "global"] },
  desiredReplicas: count,
  runningReplicas: count,
  updatedAt: text(64),
} as const;
export const SWARM_SERVICE_REQUIRED = [
  "id",
  "name",
  "image",
  "mode",
  "desiredReplicas",
  "runningReplicas",
  "updatedAt",
] as const;

/** An X25519 key as the protocol carries it: base64url of its 32 raw bytes. */
export const SEAL_KEY_PATTERN = "^[A-Za-z0-9_-]{43}$";

/** A value sealed to the agent's X25519 key (sealing.ts); the NATS payload limit bounds its size in practice. */
export interface SealedValue {
  v: 1;
  /** Which agent key it is sealed to: `sealKeyId(publicKey)`, 16 hex chars. */
  kid: string;
  /** The ephemeral X25519 public key, base64url. */
  epk: string;
  /** base64url of the 12-byte GCM nonce. */
  iv: string;
  /** base64url of the ciphertext followed by the 16-byte GCM tag. */
  ct: string;
}
export const sealedValue: JSONSchemaType<SealedValue> = {
  type: "object",
  additionalProperties: false,
  required: ["v", "kid", "epk", "iv", "ct"],
  properties: {
    v: { type: "integer", const: 1 },
    kid: { type: "string", pattern: "^[0-9a-f]{16}$" },
    epk: { type: "string", pattern: SEAL_KEY_PATTERN },
    iv: { type: "string", pattern: "^[A-Za-z0-9_-]{16}$" },
    ct: { type: "string", minLength: 22, maxLength: 2 * 1024 * 1024, pattern: "^[A-Za-z0-9_-]+$" },
  },
};

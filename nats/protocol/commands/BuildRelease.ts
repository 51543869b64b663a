/**
 * BuildRelease (control plane → agent): build a release's images from a git commit and push them, streaming events.
 * The build outlives the command like a deployment does: the reply says `started`, every step arrives as an event on
 * the deployment-events subject of `buildId` (numbered from `firstSeq`), and the terminal event carries the outcome
 * and, on success, `data.images` (compose service → `<repository>@sha256:<digest>`).
 */
import type { JSONSchemaType } from "ajv";
import { NULL, nonEmpty, sealedValue, token, type SealedValue } from "../schema.js";
import { type RegistryAuthPayload } from "./DeployStack.js";
import type { CommandSpec } from "./spec.js";

/** One compose service's `build:`, resolved: where its context is in the repository and where its image goes. */
export interface BuildServicePayload {
  /** The compose service name. */
  service: string;
  /** The context directory, relative to the repository root, normalised (`""` for the root). */
  context: string;
  /** The Dockerfile, relative to the context. */
  dockerfile: string;
  args: Record<string, string>;
  target: string | null;
  /** `<registry>/<repository>:<tag>` the image is tagged and pushed as (the tag names the commit and content). */
  image: string;
}
const buildServicePayload: JSONSchemaType<BuildServicePayload> = {
  type: "object",
  additionalProperties: false,
  required: ["service", "context", "dockerfile", "args", "target", "image"],
  properties: {
    service: { type: "string", pattern: "^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$" },
    context: { type: "string", maxLength: 1024, pattern: "^(?!/)(?!.*(?:^|/)\\.\\.(?:/|$))[^\\u0000-\\u001f]*$" },
    dockerfile: {
      type: "string",
      minLength: 1,
      maxLength: 1024,
      pattern: "^(?!/)(?!.*(?:^|/)\\.\\.(?:/|$))[^\\u0000-\\u001f]*$",
    },
    args: {
      type: "object",
      maxProperties: 200,
      required: [],
      propertyNames: { pattern: "^[A-Za-z_][A-Za-z0-9_]{0,255}$" },
      additionalProperties: { type: "string", maxLength: 64 * 1024 },
    },
    target: { anyOf: [{ type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$" }, NULL] },
    image: {
      type: "string",
      pattern: "^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?/[a-z0-9._/-]{1,200}:[A-Za-z0-9_.-]{1,128}$",
    },
  },
};

export interface BuildRelease {
  buildId: string;
  /** The repository URL as the release names it (`file://` only where the control plane allows it, in tests). */
  repoUrl: string;
  /** The commit the control plane resolved; the agent fetches exactly it. */
  commit: string;
  /**
   * How git reaches the repository, sealed (kind `git`, name `git`): JSON `{ address?, https?: { username, token },
   * ssh?: { privateKey, knownHosts, hostKeyAlias } }`. Null for a repository that needs no credential.
   */
  gitAuth: SealedValue | null;
  services: BuildServicePayload[];
  /** The registry logins the pushes use (as DeployStack's, sealed with the build id as the deployment id). */
  registryAuth: RegistryAuthPayload[];
  /** How many services build at once. */
  concurrency: number;
  timeoutSeconds: number;
  firstSeq: number;
}
const registryAuthItem: JSONSchemaType<RegistryAuthPayload> = {
  type: "object",
  additionalProperties: false,
  required: ["registry", "sealed"],
  properties: {
    registry: { type: "string", pattern: "^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$" },
    sealed: sealedValue,
  },
};
const buildRelease: JSONSchemaType<BuildRelease> = {
  type: "object",
  additionalProperties: false,
  required: [
    "buildId",
    "repoUrl",
    "commit",
    "gitAuth",
    "services",
    "registryAuth",
    "concurrency",
    "timeoutSeconds",
    "firstSeq",
  ],
  properties: {
    buildId: token,
    repoUrl: nonEmpty(2048),
    commit: { type: "string", pattern: "^(?:[0-9a-f]{40}|[0-9a-f]{64})$" },
    // ajv's JSONSchemaType cannot say "object or null" for a required field; the schema below is exact.
    gitAuth: { anyOf: [sealedValue, NULL] } as never,
    services: { type: "array", minItems: 1, maxItems: 100, items: buildServicePayload },
    registryAuth: { type: "array", maxItems: 32, items: registryAuthItem },
    concurrency: { type: "integer", minimum: 1, maximum: 16 },
    timeoutSeconds: { type: "integer", minimum: 1, maximum: 24 * 3600 },
    firstSeq: { type: "integer", minimum: 0, maximum: 1_000_000 },
  },
};

export interface BuildReleaseResult {
  buildId: string;
  status: "started" | "duplicate";
}
const buildReleaseResult: JSONSchemaType<BuildReleaseResult> = {
  type: "object",
  additionalProperties: false,
  required: ["buildId", "status"],
  properties: { buildId: token, status: { type: "string", enum: ["started", "duplicate"] } },
};

export const BuildReleaseCommand: CommandSpec<BuildRelease, BuildReleaseResult, "BuildReleaseResult"> = {
  resultName: "BuildReleaseResult",
  payload: buildRelease,
  result: buildReleaseResult,
  errorCodes: [
    "AGENT_STOPPING",
    "SEAL_KEY_MISSING",
    "SEAL_WRONG_KEY",
    "SEAL_INVALID",
    "SEAL_KEY_INVALID",
    "REGISTRY_AUTH_INVALID",
    "GIT_AUTH_INVALID",
  ],
  example: {
    payload: {
      buildId: "b3f1a2b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b",
      repoUrl: "https://git.example.com/acme/shop.git",
      commit: "0123456789abcdef0123456789abcdef01234567",
      gitAuth: null,
      services: [
        {
          service: "web",
          context: "web",
          dockerfile: "Dockerfile",
          args: { VERSION: "1.2.3" },
          target: null,
          image: "registry.example.com/shop/web:0123456789ab-5f2c1e0d9a8b",
        },
      ],
      registryAuth: [],
      concurrency: 2,
      timeoutSeconds: 1800,
      firstSeq: 1,
    },
    result: { buildId: "b3f1a2b4-5c6d-4e7f-8a9b-0c1d2e3f4a5b", status: "started" },
  },
};

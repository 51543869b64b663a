/**
 * Types of the agent's deployment executor: what a deploy is asked to do, what it reports, and the one capability
 * it needs beyond `DockerEngine` (a consistent view of a stack's rollout, see StackInspector).
 */
import type { DockerEngine, SwarmJobRunner, SwarmLogFollower, SwarmService, SwarmTask } from "../docker/engine.js";
import type { ImagePin } from "../../../nats/protocol/image-pins.js";
import type { DeployHook } from "./hooks.js";
import type { ImageLookup } from "./image-pins.js";

export type ResolveImage = "always" | "changed" | "never";

/** A registry login of the deploy, opened from the command (never logged, never in an event). */
export interface RegistryLogin {
  registry: string;
  username: string;
  password: string;
}

export interface DeployRequest {
  deploymentId: string;
  stackName: string;
  composeYaml: string;
  /** Variables for compose interpolation, passed to the docker CLI's environment (never logged). */
  env: Record<string, string>;
  /** Versioned Swarm secrets the compose file references as external; created when missing. */
  secrets: Array<{ name: string; secret: string; value: string }>;
  /** Logins per registry host, for the image pre-flight and `--with-registry-auth`. */
  registryLogins: RegistryLogin[];
  /** Ownership labels (io.stackyard.*): put on created secrets, and expected on the stack's existing services. */
  labels: Record<string, string>;
  /** Take over a stack whose services are not labelled as this environment's. */
  adopt: boolean;
  /** Versions of each secret kept after a successful deploy, the current one included. */
  keepSecretVersions: number;
  prune: boolean;
  resolveImage: ResolveImage;
  withRegistryAuth: boolean;
  timeoutSeconds: number;
  /** The release's hooks (stackyard.yaml); absent or empty: none. */
  hooks?: DeployHook[];
  /**
   * The release's health grace per compose service (stackyard.yaml `services.<name>.healthGraceSeconds`): how long
   * a converged service must stay up (after its healthcheck passed, when it has one) before it counts as ready.
   */
  healthGraceSeconds?: Record<string, number>;
}

export type DeployStatus = "SUCCEEDED" | "FAILED" | "CANCELED";

export interface ServiceHealth {
  /** Full Swarm service name (`<stack>_<service>`). */
  name: string;
  desired: number;
  running: number;
  image: string;
  healthy: boolean;
  lastError?: string;
  /** Swarm's rolling-update state when the deploy ended (paused, rollback_completed…); absent when none ran. */
  updateState?: UpdateState;
}

/** Where a deployment stopped: before "deploy" nothing on the swarm changed. */
export type DeployPhase = "prepare" | "preflight" | "secrets" | "pre_deploy" | "deploy" | "converge" | "post_deploy";

export interface DeployResult {
  status: DeployStatus;
  /** The headline: the root cause (a task's own error where there is one), not Swarm's summary of it. */
  error?: string;
  /** Said once in the terminal line after the headline (what was left on the swarm). */
  note?: string;
  phase?: DeployPhase;
  /** Time from the start of the run to its end. */
  elapsedMs?: number;
  /** Stable code of the failure, when it has one (e.g. SWARM_STACK_NOT_OWNED). */
  errorCode?: string;
  services: ServiceHealth[];
  /** On success: the exact image each service runs (image-pins.ts); absent when the engine cannot tell. */
  images?: ImagePin[];
}

export type EventLevel = "debug" | "info" | "warn" | "error";

/** One progress event. `data` carries names and counts only, never secret or env values. */
export interface DeployEvent {
  level: EventLevel;
  message: string;
  data?: Record<string, unknown>;
}

export type Emit = (event: DeployEvent) => void;

/** Swarm's rolling-update state of a service (`UpdateStatus.State`); null when no update ever ran. */
export type UpdateState =
  "updating" | "paused" | "completed" | "rollback_started" | "rollback_paused" | "rollback_completed";

export interface RolloutService extends SwarmService {
  updateState: UpdateState | null;
  updateMessage: string | null;
  /**
   * The spec declares a healthcheck (compose `healthcheck`, not disabled): Swarm then keeps a task "starting"
   * until it is healthy, so "running" already means healthy. One defined only in the image is not visible here.
   */
  healthcheck?: boolean;
  /** The spec turns the image's healthcheck off (compose `healthcheck: { disable: true }`). */
  healthcheckDisabled?: boolean;
}

export interface RolloutTask extends SwarmTask {
  /** True when the task runs the service's current spec (the daemon's `_up-to-date` task filter). */
  upToDate: boolean;
  /** The hostname of the node the task was scheduled on, so a failure on one node of many names it. */
  nodeHostname?: string | null;
  /** The task's node is down or disconnected: what Swarm last heard from it there is stale. */
  nodeLost?: boolean;
}

export interface StackSnapshot {
  services: RolloutService[];
  tasks: RolloutTask[];
  /** Node id → hostname, for progress lines that say where a task runs; may be absent (unit fakes). */
  nodeNames?: Record<string, string>;
}

/**
 * The part of the rollout `DockerEngine` does not expose: without the update state and which tasks run the
 * current spec, old tasks still running right after `docker stack deploy` returns look like a converged stack.
 */
export interface StackInspector {
  inspectStack(stack: string): Promise<StackSnapshot>;
}

export type DeployEngine = DockerEngine &
  StackInspector &
  /** Only needed for releases with hooks (unit fakes of other paths leave it out). */
  Partial<SwarmJobRunner> &
  Partial<SwarmLogFollower> & {
    /** Whether this node's copy of the image declares a HEALTHCHECK (false when the image is not here). */
    imageHealthcheck?(image: string): Promise<boolean>;
  } & Partial<ImageLookup>;

/**
 * The agent's view of the Docker engine: the narrow set of Swarm operations it needs. The dockerode-backed
 * implementation lives in dockerode-engine.ts; unit tests pass a fake. `docker stack deploy` is not here: it
 * goes through the docker CLI (cli.ts), since the Engine API has no stack concept.
 */
import type { LiveServiceSpec, SwarmUpdateStatus } from "../../../nats/protocol/service-spec.js";
import type { DockerFacts, InventoryNode, InventoryService } from "../../../nats/protocol/messages.js";

/** The engine facts are the protocol's (registration and heartbeat carry them as they are). */
export type EngineInfo = DockerFacts;

/** The inventory's node shape, with the resources grouped as the Engine API reports them. */
export interface SwarmNode extends Omit<InventoryNode, "nanoCpus" | "memoryBytes"> {
  resources: { nanoCpus: number; memoryBytes: number };
}

/**
 * The inventory's service shape (desired replicas of a global service: its eligible nodes), plus the spec. The
 * inventory's `environmentId` is read from `labels` (toInventoryService), so it is not repeated here.
 */
export interface SwarmService extends Omit<InventoryService, "environmentId"> {
  labels: Record<string, string>;
  env: string[];
  secretNames: string[];
  /** Spec version index, required by the Engine API to update a service. */
  version: number;
  /** The spec as drift compares it (filled by the dockerode engine; fakes may leave it out). */
  spec?: LiveServiceSpec;
  /** Swarm's last rolling update of the service (null when none ran). */
  updateStatus?: SwarmUpdateStatus | null;
}

export interface SwarmTask {
  id: string;
  serviceId: string;
  nodeId: string | null;
  slot: number | null;
  desiredState: string;
  state: string;
  message: string;
  error: string | null;
  exitCode: number | null;
  timestamp: string;
}

export interface SwarmSecret {
  id: string;
  name: string;
  labels: Record<string, string>;
  createdAt: string;
}

export interface LogLine {
  stream: "stdout" | "stderr";
  ts: string | null;
  line: string;
  /** The Swarm task and node that wrote it: only when asked for with `details`. */
  task?: string | null;
  node?: string | null;
}

export interface ServiceLogOptions {
  tail: number;
  /** Unix seconds: only lines at or after. */
  since?: number;
  /** Unix seconds: only lines before. */
  until?: number;
  /** Ask the daemon for each line's task and node. */
  details?: boolean;
  maxBytes: number;
}

export interface DockerEngine {
  info(): Promise<EngineInfo>;
  listNodes(): Promise<SwarmNode[]>;
  /** All services, or only those of one stack. */
  listServices(filter?: { stack?: string }): Promise<SwarmService[]>;
  listTasks(filter: { serviceId?: string; stack?: string }): Promise<SwarmTask[]>;
  listSecrets(filter?: { labels?: Record<string, string> }): Promise<SwarmSecret[]>;
  createSecret(spec: { name: string; data: Buffer; labels: Record<string, string> }): Promise<string>;
  removeSecret(id: string): Promise<void>;
  /** Whether this node's image store has the image (by reference as written: `name:tag` or `name@digest`). */
  hasImage(image: string): Promise<boolean>;
  /** Sets the replica count of a replicated service. */
  scaleService(serviceId: string, replicas: number): Promise<void>;
  serviceLogs(serviceId: string, opts: ServiceLogOptions): Promise<LogLine[]>;
  /** Docker engine events (service/node/container changes); resolves the returned function to stop. */
  watchEvents(
    onEvent: (event: { type: string; action: string; id: string; attributes: Record<string, string> }) => void,
    signal: AbortSignal,
  ): Promise<void>;
}

/** `docker service logs --follow`: kept apart from DockerEngine so engines that cannot follow need not pretend. */
export interface SwarmLogFollower {
  /**
   * Reads a service's logs (stdout and stderr demultiplexed, with timestamps), the last `tail` lines first, then
   * new ones as they are written, calling `onLine` for each; resolves when the daemon ends the stream or `signal`
   * aborts. Lines longer than `maxLineBytes` are cut.
   */
  followServiceLogs(
    serviceId: string,
    opts: { tail: number; since?: number; maxLineBytes: number; signal: AbortSignal },
    onLine: (line: LogLine) => void,
  ): Promise<void>;
}

/** The kinds of Swarm objects a stack is made of. */
export type SwarmObjectKind = "service" | "network" | "secret" | "config";

export interface SwarmObjectRef {
  id: string;
  name: string;
  labels: Record<string, string>;
}

/** Changing a node's operator-set fields (what UpdateNode needs, and nothing else). */
export interface SwarmNodeUpdater {
  /**
   * Sets availability and/or replaces the labels of one node (null leaves a field alone), keeping the rest of
   * its spec, and returns the node as the manager reports it afterwards.
   */
  updateNode(
    nodeId: string,
    change: { availability: SwarmNode["availability"] | null; labels: Record<string, string> | null },
  ): Promise<SwarmNode>;
}

/** Day-2 operations on one service (what UpdateService needs, and nothing else). */
export interface SwarmServiceUpdater {
  /**
   * `restart`: a force update (every task replaced, same spec). `rollback`: the spec before the last update; a
   * service without one is refused with DOCKER_CONFLICT. Returns the image the service's spec names afterwards.
   */
  updateService(serviceId: string, action: "restart" | "rollback"): Promise<{ image: string }>;
}

/** Listing and removing a stack's objects by label (what RemoveStack needs, and nothing else). */
export interface SwarmObjectStore {
  /** Objects of a kind carrying every one of these labels (label filters are ANDed by the daemon). */
  listObjects(kind: SwarmObjectKind, labels: Record<string, string>): Promise<SwarmObjectRef[]>;
  /** Removes one object; an object already gone is not an error. */
  removeObject(kind: SwarmObjectKind, id: string): Promise<void>;
}

/** Creating a one-off Swarm job service (ServiceSpec as the Engine API takes it) and removing it again. */
export interface SwarmJobRunner {
  /** Creates the service; `auth` is the registry login for its image, if any. Returns the service id. */
  createJobService(
    spec: Record<string, unknown>,
    auth?: { username: string; password: string; serveraddress: string },
  ): Promise<string>;
  /** Removes a service; one already gone is not an error. */
  removeService(serviceId: string): Promise<void>;
  /** The ids of those networks (by name) that exist; a missing one is absent from the map. */
  networkIds(names: string[]): Promise<Map<string, string>>;
}

/** A task as exec needs it: where it runs and its container (null before Swarm created one). */
export interface ExecTaskTarget {
  id: string;
  serviceId: string;
  nodeId: string | null;
  /** The node's hostname as the manager knows it. */
  nodeHostname: string | null;
  state: string;
  containerId: string | null;
}

/** A process started in a container with a TTY (`docker exec -it`). */
export interface ExecProcess {
  /** Called with the terminal's output as it arrives (stdout and stderr are one stream with a TTY). */
  onData(listener: (chunk: Buffer) => void): void;
  write(data: Buffer): void;
  resize(cols: number, rows: number): Promise<void>;
  /** Resolves once the output ended: the process's exit code, null when the engine cannot tell (still running). */
  readonly exited: Promise<number | null>;
  /** Closes the terminal's connection (its stdin ends); the process itself exits on its own. */
  hangUp(): void;
}

/** `docker exec` into a task's container on this engine (what StartExec needs, and nothing else). */
export interface TaskExecer {
  /** This engine's own Swarm node id: only its containers can be entered. */
  localNodeId(): Promise<string>;
  /** Null when the manager knows no such task. */
  inspectTask(taskId: string): Promise<ExecTaskTarget | null>;
  exec(containerId: string, opts: { command: string[]; cols: number; rows: number }): Promise<ExecProcess>;
}

/** The reverse proxy's state as ApplyIngress asks for it, secrets opened. */
export interface IngressSpec {
  clusterId: string;
  serviceName: string;
  networkName: string;
  image: string;
  ports: { http: number; https: number };
  config: { name: string; data: string };
  secrets: Array<{ name: string; target: string; value: Buffer }>;
  timeoutMs: number;
}

/** Why an ingress apply stopped: the handler turns these into its stable codes. */
export type IngressFailure = "not_owned" | "rollout_failed" | "rollout_timed_out";

/** Creating and rolling the ingress proxy (what ApplyIngress needs, and nothing else). */
export interface SwarmIngressApplier {
  applyIngress(
    spec: IngressSpec,
    signal: AbortSignal,
  ): Promise<{ serviceId: string; created: boolean; changed: boolean; removed: number }>;
}

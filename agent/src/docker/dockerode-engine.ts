/**
 * DockerEngine over the Engine API (dockerode, unix socket). Also implements StackInspector, the rollout view the
 * deploy executor needs. Every failure is rethrown as a DockerEngineError with a stable code; the raw daemon
 * message stays in `cause`.
 */
import Docker from "dockerode";
import { CodedError } from "../errors.js";
import type { IncomingMessage } from "node:http";
import type {
  EngineInfo,
  LogLine,
  SwarmNode,
  SwarmObjectKind,
  SwarmObjectRef,
  SwarmNodeUpdater,
  SwarmServiceUpdater,
  SwarmLogFollower,
  SwarmJobRunner,
  SwarmObjectStore,
  SwarmSecret,
  SwarmService,
  SwarmTask,
} from "./engine.js";
import type { SwarmUpdateStatus } from "../../../nats/protocol/service-spec.js";
import { toLiveServiceSpec } from "./live-spec.js";
import type { DeployEngine, RolloutService, RolloutTask, StackSnapshot, UpdateState } from "../deploy/types.js";

export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";
export const STACK_NAMESPACE_LABEL = "com.docker.stack.namespace";

export type DockerEngineErrorCode =
  "DOCKER_UNAVAILABLE" | "DOCKER_NOT_FOUND" | "DOCKER_CONFLICT" | "SWARM_UNAVAILABLE" | "DOCKER_API_ERROR";

export class DockerEngineError extends CodedError<DockerEngineErrorCode> {
  constructor(
    code: DockerEngineErrorCode,
    message: string,
    readonly statusCode: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** The socket is missing, refuses connections or is not readable by the agent. */
export class DockerUnavailableError extends DockerEngineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("DOCKER_UNAVAILABLE", message, null, options);
  }
}

export type DockerodeEngine = DeployEngine &
  Required<Pick<DeployEngine, "imageHealthcheck" | "runningImageIds" | "inspectImage">> &
  SwarmObjectStore &
  SwarmNodeUpdater &
  SwarmServiceUpdater &
  SwarmLogFollower &
  SwarmJobRunner;

/** Caps one log line so a single huge line cannot exceed maxBytes on its own. */
const LOG_LINE_SUFFIX = "…";

export function createDockerodeEngine(opts: { socketPath?: string } = {}): DockerodeEngine {
  const socketPath = opts.socketPath ?? DEFAULT_DOCKER_SOCKET;
  const docker = new Docker({ socketPath });
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw toEngineError(err, what, socketPath);
    }
  };

  async function rawServices(filter?: { stack?: string }): Promise<ServiceJson[]> {
    const filters = filter?.stack ? { label: [`${STACK_NAMESPACE_LABEL}=${filter.stack}`] } : undefined;
    // status=true makes the daemon fill ServiceStatus, whose DesiredTasks is the eligible node count of a global service.
    const list = await call("list services", () => docker.listServices({ filters, status: true }));
    return list as unknown as ServiceJson[];
  }

  async function rawTasks(filter: { serviceId?: string; stack?: string }, upToDate = false): Promise<TaskJson[]> {
    const filters: Record<string, string[]> = {};
    if (filter.serviceId) filters.service = [filter.serviceId];
    if (filter.stack) filters.label = [`${STACK_NAMESPACE_LABEL}=${filter.stack}`];
    if (upToDate) filters["_up-to-date"] = ["true"];
    const list = await call("list tasks", () => docker.listTasks({ filters }));
    return list as TaskJson[];
  }

  const engine: DockerodeEngine = {
    async info() {
      const [info, version] = await Promise.all([
        call("get info", () => docker.info() as Promise<InfoJson>),
        call("get version", () => docker.version()),
      ]);
      return toEngineInfo(info, version.ApiVersion);
    },

    async listNodes() {
      const nodes = (await call("list nodes", () => docker.listNodes())) as NodeJson[];
      return nodes.map(toSwarmNode);
    },

    async listServices(filter) {
      const [services, tasks] = await Promise.all([rawServices(filter), rawTasks({ stack: filter?.stack })]);
      const running = countRunning(tasks);
      return services.map((s) => toSwarmService(s, running.get(s.ID) ?? 0));
    },

    async listTasks(filter) {
      return (await rawTasks(filter)).map(toSwarmTask);
    },

    async listSecrets(filter) {
      const labels = Object.entries(filter?.labels ?? {}).map(([k, v]) => `${k}=${v}`);
      const list = await call("list secrets", () =>
        docker.listSecrets(labels.length > 0 ? { filters: { label: labels } } : {}),
      );
      return (list as SecretJson[]).map(toSwarmSecret);
    },

    async createSecret(spec) {
      const created = (await call(`create secret ${spec.name}`, () =>
        docker.createSecret({ Name: spec.name, Labels: spec.labels, Data: spec.data.toString("base64") }),
      )) as { ID?: string; id?: string };
      const id = created.ID ?? created.id;
      if (!id) throw new DockerEngineError("DOCKER_API_ERROR", `create secret ${spec.name}: no id in the response`);
      return id;
    },

    async hasImage(image) {
      try {
        await call(`inspect image ${image}`, () => docker.getImage(image).inspect());
        return true;
      } catch (err) {
        if (err instanceof DockerEngineError && err.code === "DOCKER_NOT_FOUND") return false;
        throw err;
      }
    },

    async runningImageIds(serviceName) {
      const containers = await call(`list containers of ${serviceName}`, () =>
        docker.listContainers({
          filters: JSON.stringify({ label: [`com.docker.swarm.service.name=${serviceName}`], status: ["running"] }),
        }),
      );
      return containers.map((c) => c.ImageID);
    },

    async inspectImage(ref) {
      try {
        const info = (await call(`inspect image ${ref}`, () => docker.getImage(ref).inspect())) as {
          Id: string;
          RepoDigests?: string[] | null;
        };
        return { id: info.Id, repoDigests: info.RepoDigests ?? [] };
      } catch (err) {
        if (err instanceof DockerEngineError && err.code === "DOCKER_NOT_FOUND") return null;
        throw err;
      }
    },

    async imageHealthcheck(image) {
      try {
        const info = (await call(`inspect image ${image}`, () => docker.getImage(image).inspect())) as {
          Config?: { Healthcheck?: { Test?: string[] } };
        };
        return declaresHealthcheck(info.Config?.Healthcheck);
      } catch (err) {
        if (err instanceof DockerEngineError && err.code === "DOCKER_NOT_FOUND") return false;
        throw err;
      }
    },

    async createJobService(spec, auth) {
      const created = (await call(`create job service ${String(spec.Name)}`, () =>
        auth ? docker.createService(auth, spec as never) : docker.createService(spec as never),
      )) as { id?: string; ID?: string };
      const id = created.id ?? created.ID;
      if (!id) throw new Error("the daemon returned no id for the created service");
      return id;
    },

    async removeService(serviceId) {
      try {
        await call(`remove service ${serviceId}`, () => docker.getService(serviceId).remove());
      } catch (err) {
        if (err instanceof DockerEngineError && err.code === "DOCKER_NOT_FOUND") return;
        throw err;
      }
    },

    async networkIds(names) {
      if (names.length === 0) return new Map();
      const found = (await call("list networks", () =>
        docker.listNetworks({ filters: JSON.stringify({ name: names }) }),
      )) as Array<{ Id: string; Name: string }>;
      // The daemon's name filter matches substrings: only exact names count.
      return new Map(found.filter((n) => names.includes(n.Name)).map((n) => [n.Name, n.Id] as const));
    },

    async removeSecret(id) {
      await call(`remove secret ${id}`, () => docker.getSecret(id).remove());
    },

    async scaleService(serviceId, replicas) {
      const service = docker.getService(serviceId);
      const current = (await call(`inspect service ${serviceId}`, () => service.inspect())) as ServiceJson;
      const spec = current.Spec;
      if (!spec.Mode?.Replicated) {
        throw new DockerEngineError(
          "DOCKER_CONFLICT",
          `service ${spec.Name} is not replicated and cannot be scaled`,
          409,
        );
      }
      const body = { ...spec, Mode: { ...spec.Mode, Replicated: { ...spec.Mode.Replicated, Replicas: replicas } } };
      // The version makes the daemon reject the update when the spec changed since the inspect (optimistic lock).
      await call(`scale service ${spec.Name}`, () =>
        service.update({ _query: { version: current.Version.Index }, _body: body }),
      );
    },

    async updateService(serviceId, action) {
      const service = docker.getService(serviceId);
      const current = (await call(`inspect service ${serviceId}`, () => service.inspect())) as ServiceJson & {
        PreviousSpec?: unknown;
      };
      const spec = current.Spec;
      if (action === "rollback" && !current.PreviousSpec) {
        throw new DockerEngineError(
          "DOCKER_CONFLICT",
          `service ${spec.Name} has no previous spec to roll back to (it was never updated)`,
          409,
        );
      }
      const body =
        action === "restart"
          ? { ...spec, TaskTemplate: { ...spec.TaskTemplate, ForceUpdate: (spec.TaskTemplate?.ForceUpdate ?? 0) + 1 } }
          : spec;
      // The version makes the daemon reject the update when the spec changed since the inspect (optimistic lock);
      // `rollback=previous` makes the daemon use the previous spec instead of the body (docker service rollback).
      await call(`${action} service ${spec.Name}`, () =>
        service.update({
          _query: { version: current.Version.Index, ...(action === "rollback" ? { rollback: "previous" } : {}) },
          _body: body,
        }),
      );
      const after = (await call(`inspect service ${serviceId}`, () => service.inspect())) as ServiceJson;
      return { image: after.Spec.TaskTemplate?.ContainerSpec?.Image ?? "" };
    },

    async serviceLogs(serviceId, opts) {
      const current = (await call(`inspect service ${serviceId}`, () =>
        docker.getService(serviceId).inspect(),
      )) as ServiceJson;
      const tty = current.Spec.TaskTemplate?.ContainerSpec?.TTY === true;
      const query: Record<string, unknown> = { stdout: true, stderr: true, timestamps: true, tail: opts.tail };
      if (opts.since !== undefined) query.since = opts.since;
      if (opts.until !== undefined) query.until = opts.until;
      if (opts.details) query.details = true;
      // A raw stream (not dockerode's buffered Promise<Buffer>) so the size cap also bounds memory.
      const stream = await call(`get logs of service ${serviceId}`, () =>
        dial<IncomingMessage>(docker, {
          path: `/services/${serviceId}/logs?`,
          method: "GET",
          isStream: true,
          options: query,
          statusCodes: { 200: true, 404: "no such service", 500: "server error", 503: "node is not part of a swarm" },
        }),
      );
      const collector = new LogCollector(opts.maxBytes, opts.details === true);
      const decoder = tty ? null : new LogDemuxer();
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (decoder) {
            for (const frame of decoder.push(chunk)) collector.push(frame.stream, frame.payload);
          } else {
            collector.push("stdout", chunk);
          }
        }
      } catch (err) {
        throw toEngineError(err, `read logs of service ${serviceId}`, socketPath);
      }
      return collector.finish();
    },

    async followServiceLogs(serviceId, opts, onLine) {
      if (opts.signal.aborted) return;
      const current = (await call(`inspect service ${serviceId}`, () =>
        docker.getService(serviceId).inspect(),
      )) as ServiceJson;
      const tty = current.Spec.TaskTemplate?.ContainerSpec?.TTY === true;
      const query: Record<string, unknown> = {
        stdout: true,
        stderr: true,
        timestamps: true,
        follow: true,
        tail: opts.tail,
      };
      if (opts.since !== undefined) query.since = opts.since;
      const stream = await call(`follow logs of service ${serviceId}`, () =>
        dial<IncomingMessage>(docker, {
          path: `/services/${serviceId}/logs?`,
          method: "GET",
          isStream: true,
          options: query,
          statusCodes: { 200: true, 404: "no such service", 500: "server error", 503: "node is not part of a swarm" },
        }),
      );
      const stop = () => stream.destroy();
      opts.signal.addEventListener("abort", stop, { once: true });
      // Aborted while the stream was being opened: the listener came too late to hear it.
      if (opts.signal.aborted) stop();
      const splitter = new LogLineSplitter(opts.maxLineBytes, onLine);
      const decoder = tty ? null : new LogDemuxer();
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (decoder) {
            for (const frame of decoder.push(chunk)) splitter.push(frame.stream, frame.payload);
          } else {
            splitter.push("stdout", chunk);
          }
        }
        splitter.finish();
      } catch (err) {
        if (opts.signal.aborted) return;
        throw toEngineError(err, `follow logs of service ${serviceId}`, socketPath);
      } finally {
        opts.signal.removeEventListener("abort", stop);
      }
    },

    async watchEvents(onEvent, signal) {
      if (signal.aborted) return;
      const stream = await call("watch events", () =>
        dial<IncomingMessage>(docker, {
          path: "/events?",
          method: "GET",
          isStream: true,
          options: { filters: JSON.stringify({ type: ["service", "node", "container", "secret"] }) },
          statusCodes: { 200: true, 500: "server error" },
        }),
      );
      const stop = () => stream.destroy();
      signal.addEventListener("abort", stop, { once: true });
      let buffered = "";
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          buffered += chunk.toString("utf8");
          let nl: number;
          while ((nl = buffered.indexOf("\n")) >= 0) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line) onEvent(toEngineEvent(JSON.parse(line) as EventJson));
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        throw toEngineError(err, "watch events", socketPath);
      } finally {
        signal.removeEventListener("abort", stop);
      }
      if (!signal.aborted) {
        throw new DockerUnavailableError(`docker event stream from ${socketPath} ended unexpectedly`);
      }
    },

    async listObjects(kind, labels) {
      const filters = { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) };
      const list = await call(`list ${kind}s`, (): Promise<unknown> => {
        switch (kind) {
          case "service":
            return docker.listServices({ filters });
          case "network":
            return docker.listNetworks({ filters });
          case "secret":
            return docker.listSecrets({ filters });
          case "config":
            return docker.listConfigs({ filters });
        }
      });
      return (list as ObjectJson[]).map((o) => toObjectRef(kind, o));
    },

    async removeObject(kind, id) {
      try {
        await call(`remove ${kind} ${id}`, (): Promise<unknown> => {
          switch (kind) {
            case "service":
              return docker.getService(id).remove();
            case "network":
              return docker.getNetwork(id).remove();
            case "secret":
              return docker.getSecret(id).remove();
            case "config":
              return docker.getConfig(id).remove();
          }
        });
      } catch (err) {
        if (err instanceof DockerEngineError && err.code === "DOCKER_NOT_FOUND") return;
        throw err;
      }
    },

    async updateNode(nodeId, change) {
      const node = docker.getNode(nodeId);
      // The update must carry the version it read (optimistic concurrency): one retry when another change won.
      for (let attempt = 1; ; attempt++) {
        const current = (await call("inspect node", () => node.inspect())) as NodeJson & {
          Version?: { Index?: number };
        };
        const spec = {
          ...current.Spec,
          ...(change.availability !== null ? { Availability: change.availability } : {}),
          ...(change.labels !== null ? { Labels: change.labels } : {}),
        };
        try {
          await call("update node", () => node.update({ version: current.Version?.Index ?? 0, ...spec }));
          break;
        } catch (err) {
          const outOfSequence = err instanceof DockerEngineError && /out of sequence/i.test(err.message);
          if (!outOfSequence || attempt >= 2) throw err;
        }
      }
      return toSwarmNode((await call("inspect node", () => node.inspect())) as NodeJson);
    },

    async inspectStack(stack) {
      const [services, tasks, upToDate, nodes] = await Promise.all([
        rawServices({ stack }),
        rawTasks({ stack }),
        rawTasks({ stack }, true),
        call("list nodes", () => docker.listNodes()) as Promise<NodeJson[]>,
      ]);
      const hostnames = new Map(nodes.map((n) => [n.ID, n.Description?.Hostname ?? null]));
      const lost = new Set(
        nodes.filter((n) => n.Status?.State === "down" || n.Status?.State === "disconnected").map((n) => n.ID),
      );
      const current = new Set(upToDate.map((t) => t.ID));
      const running = countRunning(tasks);
      const snapshot: StackSnapshot = {
        services: services.map((s): RolloutService => ({
          ...toSwarmService(s, running.get(s.ID) ?? 0),
          updateState: toUpdateState(s.UpdateStatus?.State),
          updateMessage: s.UpdateStatus?.Message || null,
          healthcheck: declaresHealthcheck(s.Spec.TaskTemplate?.ContainerSpec?.Healthcheck),
          healthcheckDisabled: s.Spec.TaskTemplate?.ContainerSpec?.Healthcheck?.Test?.[0] === "NONE",
        })),
        tasks: tasks.map((t): RolloutTask => ({
          ...toSwarmTask(t),
          upToDate: current.has(t.ID),
          nodeHostname: (t.NodeID && hostnames.get(t.NodeID)) || null,
          nodeLost: Boolean(t.NodeID && lost.has(t.NodeID)),
        })),
        nodeNames: Object.fromEntries(nodes.map((n) => [n.ID, n.Description?.Hostname ?? n.ID.slice(0, 12)])),
      };
      return snapshot;
    },
  };
  return engine;
}

// ---- Engine API JSON (only the fields read here) --------------------------------------------------------

interface InfoJson {
  ServerVersion?: string;
  OperatingSystem?: string;
  OSType?: string;
  Architecture?: string;
  Swarm?: {
    LocalNodeState?: string;
    ControlAvailable?: boolean;
    NodeID?: string;
    Nodes?: number;
    Managers?: number;
    Cluster?: { ID?: string } | null;
  };
}

interface NodeJson {
  ID: string;
  Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string> };
  Description?: {
    Hostname?: string;
    Resources?: { NanoCPUs?: number; MemoryBytes?: number };
    Engine?: { EngineVersion?: string };
  };
  Status?: { State?: string; Addr?: string };
}

export interface ServiceJson {
  ID: string;
  Version: { Index: number };
  UpdatedAt?: string;
  Spec: {
    Name: string;
    Labels?: Record<string, string>;
    Mode?: { Replicated?: { Replicas?: number }; Global?: object };
    TaskTemplate?: {
      ContainerSpec?: {
        Image?: string;
        Labels?: Record<string, string>;
        Command?: string[];
        Args?: string[];
        Env?: string[];
        TTY?: boolean;
        Secrets?: Array<{ SecretName?: string; File?: { Name?: string } }>;
        Configs?: Array<{ ConfigName?: string; File?: { Name?: string } }>;
        Mounts?: Array<{ Type?: string; Source?: string; Target?: string; ReadOnly?: boolean }>;
        Healthcheck?: { Test?: string[] };
      };
      Resources?: {
        Limits?: { NanoCPUs?: number; MemoryBytes?: number };
        Reservations?: { NanoCPUs?: number; MemoryBytes?: number };
      };
      RestartPolicy?: { Condition?: string; Delay?: number; MaxAttempts?: number; Window?: number };
      Placement?: {
        Constraints?: string[];
        Preferences?: Array<{ Spread?: { SpreadDescriptor?: string } }>;
        MaxReplicas?: number;
      };
      ForceUpdate?: number;
    };
    UpdateConfig?: {
      Parallelism?: number;
      Delay?: number;
      FailureAction?: string;
      Monitor?: number;
      MaxFailureRatio?: number;
      Order?: string;
    };
    EndpointSpec?: {
      Ports?: Array<{ Protocol?: string; TargetPort?: number; PublishedPort?: number; PublishMode?: string }>;
    };
  };
  ServiceStatus?: { RunningTasks?: number; DesiredTasks?: number };
  UpdateStatus?: { State?: string; Message?: string };
}

interface TaskJson {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  DesiredState?: string;
  Status?: {
    Timestamp?: string;
    State?: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ExitCode?: number };
  };
}

/** Services, secrets and configs keep name and labels in Spec; networks at the top level. */
interface ObjectJson {
  ID?: string;
  Id?: string;
  Name?: string;
  Labels?: Record<string, string> | null;
  Spec?: { Name?: string; Labels?: Record<string, string> | null };
}

function toObjectRef(kind: SwarmObjectKind, o: ObjectJson): SwarmObjectRef {
  const id = o.ID ?? o.Id ?? "";
  if (kind === "network") return { id, name: o.Name ?? id, labels: o.Labels ?? {} };
  return { id, name: o.Spec?.Name ?? id, labels: o.Spec?.Labels ?? {} };
}

interface SecretJson {
  ID: string;
  CreatedAt?: string;
  Spec?: { Name?: string; Labels?: Record<string, string> };
}

interface EventJson {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

// ---- mapping ----------------------------------------------------------------------------------------------

const SWARM_STATES = ["inactive", "pending", "active", "error", "locked"] as const;
const UPDATE_STATES: readonly UpdateState[] = [
  "updating",
  "paused",
  "completed",
  "rollback_started",
  "rollback_paused",
  "rollback_completed",
];

function oneOf<T extends string>(values: readonly T[], value: string | undefined, fallback: T): T {
  return values.find((v) => v === value) ?? fallback;
}

export function toEngineInfo(info: InfoJson, apiVersion: string): EngineInfo {
  const swarm = info.Swarm ?? {};
  const state = oneOf(SWARM_STATES, swarm.LocalNodeState, "inactive");
  return {
    dockerVersion: info.ServerVersion ?? "unknown",
    apiVersion,
    os: info.OperatingSystem ?? info.OSType ?? "unknown",
    arch: info.Architecture ?? "unknown",
    swarmState: state,
    isManager: swarm.ControlAvailable === true,
    nodeId: swarm.NodeID || null,
    clusterId: swarm.Cluster?.ID || null,
    nodeCount: swarm.Nodes ?? 0,
    managerCount: swarm.Managers ?? 0,
  };
}

function toSwarmNode(n: NodeJson): SwarmNode {
  return {
    id: n.ID,
    hostname: n.Description?.Hostname ?? "",
    role: n.Spec?.Role === "manager" ? "manager" : "worker",
    availability: oneOf(["active", "pause", "drain"] as const, n.Spec?.Availability, "active"),
    status: oneOf(["unknown", "down", "ready", "disconnected"] as const, n.Status?.State, "unknown"),
    labels: n.Spec?.Labels ?? {},
    resources: {
      nanoCpus: n.Description?.Resources?.NanoCPUs ?? 0,
      memoryBytes: n.Description?.Resources?.MemoryBytes ?? 0,
    },
    engineVersion: n.Description?.Engine?.EngineVersion ?? null,
    address: n.Status?.Addr || null,
  };
}

/** Running replicas per service: tasks that run and are meant to (a task being shut down no longer counts). */
function countRunning(tasks: TaskJson[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of tasks) {
    if (t.Status?.State === "running" && t.DesiredState === "running") {
      counts.set(t.ServiceID, (counts.get(t.ServiceID) ?? 0) + 1);
    }
  }
  return counts;
}

function toSwarmService(s: ServiceJson, running: number): SwarmService {
  const container = s.Spec.TaskTemplate?.ContainerSpec ?? {};
  const global = s.Spec.Mode?.Global !== undefined;
  const labels = s.Spec.Labels ?? {};
  return {
    id: s.ID,
    name: s.Spec.Name,
    image: stripDigest(container.Image ?? ""),
    mode: global ? "global" : "replicated",
    desiredReplicas: global ? (s.ServiceStatus?.DesiredTasks ?? 0) : (s.Spec.Mode?.Replicated?.Replicas ?? 1),
    runningReplicas: running,
    stack: labels[STACK_NAMESPACE_LABEL] ?? null,
    labels,
    env: container.Env ?? [],
    secretNames: (container.Secrets ?? []).flatMap((x) => (x.SecretName ? [x.SecretName] : [])),
    updatedAt: s.UpdatedAt ?? "",
    version: s.Version.Index,
    spec: toLiveServiceSpec(s),
    updateStatus: toUpdateStatus(s.UpdateStatus),
  };
}

function toUpdateStatus(status: ServiceJson["UpdateStatus"]): SwarmUpdateStatus | null {
  const state = toUpdateState(status?.State);
  return state ? { state, message: (status?.Message ?? "").slice(0, 4096) } : null;
}

/** `docker stack deploy` pins images as `name:tag@sha256:…`; callers compare against the compose reference. */
function stripDigest(image: string): string {
  const at = image.indexOf("@sha256:");
  return at > 0 ? image.slice(0, at) : image;
}

/** A spec healthcheck that runs: `Test` absent or empty inherits the image's (unknown here), ["NONE"] disables it. */
export function declaresHealthcheck(healthcheck: { Test?: string[] } | undefined): boolean {
  const test = healthcheck?.Test ?? [];
  return test.length > 0 && test[0] !== "NONE";
}

function toUpdateState(state: string | undefined): UpdateState | null {
  return UPDATE_STATES.find((s) => s === state) ?? null;
}

function toSwarmTask(t: TaskJson): SwarmTask {
  const status = t.Status ?? {};
  return {
    id: t.ID,
    serviceId: t.ServiceID,
    nodeId: t.NodeID || null,
    slot: t.Slot ?? null,
    desiredState: t.DesiredState ?? "unknown",
    state: status.State ?? "unknown",
    message: status.Message ?? "",
    error: status.Err || null,
    exitCode: status.ContainerStatus?.ExitCode ?? null,
    timestamp: status.Timestamp ?? "",
  };
}

function toSwarmSecret(s: SecretJson): SwarmSecret {
  return { id: s.ID, name: s.Spec?.Name ?? "", labels: s.Spec?.Labels ?? {}, createdAt: s.CreatedAt ?? "" };
}

function toEngineEvent(e: EventJson): { type: string; action: string; id: string; attributes: Record<string, string> } {
  return { type: e.Type ?? "", action: e.Action ?? "", id: e.Actor?.ID ?? "", attributes: e.Actor?.Attributes ?? {} };
}

// ---- errors ---------------------------------------------------------------------------------------------------

export function toEngineError(err: unknown, what: string, socketPath: string): DockerEngineError {
  if (err instanceof DockerEngineError) return err;
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown };
  const message = typeof e.message === "string" ? e.message : String(err);
  switch (e.code) {
    case "ENOENT":
      return new DockerUnavailableError(
        `Docker engine unavailable: socket ${socketPath} does not exist (is dockerd running on this host?)`,
        { cause: err },
      );
    case "ECONNREFUSED":
      return new DockerUnavailableError(`Docker engine unavailable: ${socketPath} refuses connections`, {
        cause: err,
      });
    case "EACCES":
    case "EPERM":
      return new DockerUnavailableError(
        `Docker engine unavailable: no permission to use ${socketPath} (run the agent as root or in the docker group)`,
        { cause: err },
      );
    case "ECONNRESET":
    case "EPIPE":
      return new DockerUnavailableError(`Docker engine connection lost during ${what}`, { cause: err });
  }
  const status = typeof e.statusCode === "number" ? e.statusCode : null;
  if (status === 404) return new DockerEngineError("DOCKER_NOT_FOUND", `${what}: not found`, status, { cause: err });
  if (status === 409) return new DockerEngineError("DOCKER_CONFLICT", `${what}: conflict`, status, { cause: err });
  if (status === 503 || status === 406) {
    return new DockerEngineError("SWARM_UNAVAILABLE", `${what}: this engine is not a Swarm manager`, status, {
      cause: err,
    });
  }
  return new DockerEngineError("DOCKER_API_ERROR", `${what} failed: ${message}`, status, { cause: err });
}

// ---- raw requests and log decoding ----------------------------------------------------------------------------

type DialOptions = Parameters<Docker["modem"]["dial"]>[0];

function dial<T>(docker: Docker, options: DialOptions): Promise<T> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(options, (err, result) => (err ? reject(err) : resolve(result as T)));
  });
}

/**
 * Splits Docker's multiplexed log stream (8-byte header: stream type, 3 zero bytes, big-endian payload length)
 * into frames, carrying a partial header or payload over to the next chunk.
 */
export class LogDemuxer {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Array<{ stream: "stdout" | "stderr"; payload: Buffer }> {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Array<{ stream: "stdout" | "stderr"; payload: Buffer }> = [];
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const type = this.pending[0];
      frames.push({ stream: type === 2 ? "stderr" : "stdout", payload: this.pending.subarray(8, 8 + size) });
      this.pending = this.pending.subarray(8 + size);
    }
    return frames;
  }
}

/** Turns followed payload bytes into LogLines as they complete, per stream (a partial line waits for its end). */
export class LogLineSplitter {
  private readonly partial = { stdout: "", stderr: "" };

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (line: LogLine) => void,
  ) {}

  push(stream: "stdout" | "stderr", payload: Buffer): void {
    const text = this.partial[stream] + payload.toString("utf8");
    const parts = text.split("\n");
    let rest = parts.pop() ?? "";
    // A partial line that never ends must not grow without bound: cut it as a line of its own.
    if (Buffer.byteLength(rest) > this.maxLineBytes) {
      parts.push(rest);
      rest = "";
    }
    this.partial[stream] = rest;
    for (const part of parts) this.emit(stream, part);
  }

  finish(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      if (this.partial[stream]) this.emit(stream, this.partial[stream]);
      this.partial[stream] = "";
    }
  }

  private emit(stream: "stdout" | "stderr", raw: string): void {
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const { ts, line } = splitTimestamp(text);
    this.onLine({ stream, ts, line: truncateUtf8(line, this.maxLineBytes) });
  }
}

/**
 * Turns payload bytes into LogLines, per stream, keeping only the newest lines that fit in maxBytes (the caller
 * asked for the tail, so the oldest lines are the ones dropped).
 */
export class LogCollector {
  private readonly lines: LogLine[] = [];
  private readonly sizes: number[] = [];
  private bytes = 0;
  private head = 0;
  private readonly partial = { stdout: "", stderr: "" };

  constructor(
    private readonly maxBytes: number,
    /** Lines carry the daemon's `details` attributes (`k=v,k=v `) after the timestamp. */
    private readonly details = false,
  ) {}

  push(stream: "stdout" | "stderr", payload: Buffer): void {
    const text = this.partial[stream] + payload.toString("utf8");
    const parts = text.split("\n");
    this.partial[stream] = parts.pop() ?? "";
    for (const part of parts) this.add(stream, part);
  }

  finish(): LogLine[] {
    for (const stream of ["stdout", "stderr"] as const) {
      if (this.partial[stream]) this.add(stream, this.partial[stream]);
      this.partial[stream] = "";
    }
    return this.lines.slice(this.head);
  }

  private add(stream: "stdout" | "stderr", raw: string): void {
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const { ts, line: rest } = splitTimestamp(text);
    const { attrs, line } = this.details ? splitDetails(rest) : { attrs: null, line: rest };
    const capped = truncateUtf8(line, Math.max(0, this.maxBytes));
    const size = Buffer.byteLength(capped);
    this.lines.push(
      attrs
        ? {
            stream,
            ts,
            line: capped,
            task: attrs.get("com.docker.swarm.task.id") ?? null,
            node: attrs.get("com.docker.swarm.node.id") ?? null,
          }
        : { stream, ts, line: capped },
    );
    this.sizes.push(size);
    this.bytes += size;
    while (this.bytes > this.maxBytes && this.head < this.lines.length) {
      this.bytes -= this.sizes[this.head] ?? 0;
      this.head++;
    }
    // Compact now and then so a long stream does not keep every dropped line referenced.
    if (this.head > 1024 && this.head * 2 > this.lines.length) {
      this.lines.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
  }
}

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) ?/;

function splitTimestamp(text: string): { ts: string | null; line: string } {
  const m = TIMESTAMP.exec(text);
  return m ? { ts: m[1] ?? null, line: text.slice(m[0].length) } : { ts: null, line: text };
}

/**
 * With `details`, the daemon writes the line's attributes, sorted `k=v` pairs joined by commas (values
 * URL-encoded), and one space before the message (moby api/server/httputils/write_log_stream.go).
 */
const DETAILS = /^((?:[A-Za-z0-9_.-]+=[^, ]*)(?:,[A-Za-z0-9_.-]+=[^, ]*)*)? /;

function splitDetails(text: string): { attrs: Map<string, string> | null; line: string } {
  const m = DETAILS.exec(text);
  if (!m) return { attrs: null, line: text };
  const attrs = new Map<string, string>();
  for (const pair of (m[1] ?? "").split(",")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    try {
      attrs.set(pair.slice(0, eq), decodeURIComponent(pair.slice(eq + 1)));
    } catch {
      attrs.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  }
  return { attrs, line: text.slice(m[0].length) };
}

export function truncateUtf8(line: string, maxBytes: number): string {
  if (Buffer.byteLength(line) <= maxBytes) return line;
  const budget = Math.max(0, maxBytes - Buffer.byteLength(LOG_LINE_SUFFIX));
  let out = Buffer.from(line).subarray(0, budget).toString("utf8");
  // A multi-byte character cut in half decodes to U+FFFD: drop it rather than emit garbage.
  if (out.endsWith("\uFFFD")) out = out.slice(0, -1);
  return out + LOG_LINE_SUFFIX;
}

/**
 * SwarmIngressApplier over the Engine API (dockerode): the ingress proxy as one Swarm service with its overlay
 * network, a versioned config (nginx.conf) and one secret per certificate. A change is a service update that starts
 * the new task first; the healthcheck keeps the new task out of the routing mesh until nginx has bound its ports,
 * Swarm takes the old task out of the mesh before stopping it, and SIGQUIT lets that nginx finish what it serves.
 */
import Docker from "dockerode";
import { INGRESS_CLUSTER_LABEL, INGRESS_SERVICE_LABEL } from "../../../nats/protocol/labels.js";
import { DEFAULT_DOCKER_SOCKET, toEngineError } from "./dockerode-engine.js";
import type { IngressFailure, IngressSpec, SwarmIngressApplier } from "./engine.js";

/** Where the proxy's nginx.conf (the Swarm config) is mounted. */
export const INGRESS_CONFIG_PATH = "/etc/stackyard-ingress/nginx.conf";
/** The copy nginx runs from, in the container's own filesystem: replaced in place by a reload. */
export const INGRESS_LIVE_DIR = "/run/stackyard-ingress";
export const INGRESS_LIVE_CONFIG = `${INGRESS_LIVE_DIR}/nginx.conf`;
/** On the proxy service: the Swarm config its nginx runs now (reloads change it without a new task). */
export const INGRESS_CONFIG_LABEL = "io.stackyard.ingress.config";
/**
 * A graceful reload in the running container: the new configuration is written beside the live one, checked by
 * `nginx -t`, moved in place and loaded with `nginx -s reload` (new workers take new connections, old ones finish
 * theirs: nothing is dropped). The text travels in the exec's environment, so no stdin is needed.
 */
const RELOAD_SCRIPT =
  `printf '%s' "$STACKYARD_INGRESS_CONF" > ${INGRESS_LIVE_CONFIG}.next && ` +
  `nginx -t -q -c ${INGRESS_LIVE_CONFIG}.next && mv ${INGRESS_LIVE_CONFIG}.next ${INGRESS_LIVE_CONFIG} && ` +
  // The reload is asynchronous: answer once workers of the new configuration run (they take new connections).
  `workers() { for p in /proc/[0-9]*; do case "$(cat $p/cmdline 2>/dev/null)" in "nginx: worker"*) echo "\${p#/proc/}";; esac; done; }; ` +
  `before=" $(workers | tr '\n' ' ') "; nginx -s reload -c ${INGRESS_LIVE_CONFIG} || exit 1; i=0; ` +
  `while [ $i -lt 200 ]; do for w in $(workers); do case "$before" in *" $w "*) ;; *) sleep 0.2; exit 0;; esac; done; ` +
  `sleep 0.05; i=$((i+1)); done; echo "the new workers did not start" >&2; exit 1`;
/** nginx writes its pid file after binding its listeners: the healthcheck's test. */
export const INGRESS_PID_FILE = "/run/nginx.pid";
/** Swarm's time units are nanoseconds. */
const NS_PER_MS = 1_000_000;
const HEALTH_INTERVAL_MS = 500;
const HEALTH_START_PERIOD_MS = 30_000;
/** How long an old task's nginx may take to finish its requests after SIGQUIT. */
const STOP_GRACE_MS = 15_000;
/** Swarm watches a new task this long for failure before it counts the update as done. */
const UPDATE_MONITOR_MS = 1_000;
const POLL_MS = 250;

export class IngressApplyError extends Error {
  override name = "IngressApplyError";
  constructor(
    readonly failure: IngressFailure,
    message: string,
  ) {
    super(message);
  }
}

interface ServiceInspect {
  ID: string;
  Version: { Index: number };
  Spec: {
    Name: string;
    Labels?: Record<string, string>;
    TaskTemplate?: {
      ContainerSpec?: {
        Image?: string;
        Configs?: Array<{ ConfigName?: string }>;
        Secrets?: Array<{ SecretName?: string }>;
      };
    };
  };
  UpdateStatus?: { State?: string; Message?: string };
}

interface TaskJson {
  ID: string;
  DesiredState?: string;
  Status?: { State?: string; Err?: string };
  Spec?: { ContainerSpec?: { Configs?: Array<{ ConfigName?: string }> } };
}

export function createDockerodeIngressApplier(opts: { socketPath?: string } = {}): SwarmIngressApplier {
  const socketPath = opts.socketPath ?? DEFAULT_DOCKER_SOCKET;
  const docker = new Docker({ socketPath });
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw toEngineError(err, what, socketPath);
    }
  };

  async function ensureNetwork(spec: IngressSpec, labels: Record<string, string>): Promise<string> {
    const found = (await call("list networks", () =>
      docker.listNetworks({ filters: { name: [spec.networkName] } }),
    )) as Array<{ Id: string; Name: string; Labels?: Record<string, string> }>;
    const existing = found.find((n) => n.Name === spec.networkName);
    if (existing) return existing.Id;
    const created = await call(`create network ${spec.networkName}`, () =>
      docker.createNetwork({ Name: spec.networkName, Driver: "overlay", Attachable: true, Labels: labels }),
    );
    return created.id;
  }

  async function ensureConfig(spec: IngressSpec, labels: Record<string, string>): Promise<string> {
    const found = (await call("list configs", () =>
      docker.listConfigs({ filters: { name: [spec.config.name] } }),
    )) as Array<{ ID: string; Spec?: { Name?: string } }>;
    const existing = found.find((c) => c.Spec?.Name === spec.config.name);
    if (existing) return existing.ID;
    const created = (await call(`create config ${spec.config.name}`, () =>
      docker.createConfig({
        Name: spec.config.name,
        Labels: labels,
        Data: Buffer.from(spec.config.data, "utf8").toString("base64"),
      }),
    )) as { id: string };
    return created.id;
  }

  async function ensureSecrets(spec: IngressSpec, labels: Record<string, string>): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    if (spec.secrets.length === 0) return ids;
    const found = (await call("list secrets", () =>
      docker.listSecrets({ filters: { label: [`${INGRESS_SERVICE_LABEL}=${spec.serviceName}`] } }),
    )) as Array<{ ID: string; Spec?: { Name?: string } }>;
    for (const s of found) if (s.Spec?.Name) ids.set(s.Spec.Name, s.ID);
    for (const secret of spec.secrets) {
      if (ids.has(secret.name)) continue;
      const created = (await call(`create secret ${secret.name}`, () =>
        docker.createSecret({ Name: secret.name, Labels: labels, Data: secret.value.toString("base64") }),
      )) as { id: string };
      ids.set(secret.name, created.id);
    }
    return ids;
  }

  function serviceSpec(
    spec: IngressSpec,
    ids: { network: string; config: string; secrets: Map<string, string> },
  ): Record<string, unknown> {
    return {
      Name: spec.serviceName,
      Labels: { [INGRESS_CLUSTER_LABEL]: spec.clusterId, [INGRESS_CONFIG_LABEL]: spec.config.name },
      TaskTemplate: {
        ContainerSpec: {
          Image: spec.image,
          Command: ["sh", "-c"],
          Args: [
            `mkdir -p ${INGRESS_LIVE_DIR} && cp ${INGRESS_CONFIG_PATH} ${INGRESS_LIVE_CONFIG} && ` +
              `exec nginx -c ${INGRESS_LIVE_CONFIG} -g 'daemon off;'`,
          ],
          Configs: [
            {
              File: { Name: INGRESS_CONFIG_PATH, UID: "0", GID: "0", Mode: 0o444 },
              ConfigID: ids.config,
              ConfigName: spec.config.name,
            },
          ],
          Secrets: spec.secrets.map((s) => ({
            File: { Name: s.target, UID: "0", GID: "0", Mode: 0o400 },
            SecretID: ids.secrets.get(s.name)!,
            SecretName: s.name,
          })),
          StopSignal: "SIGQUIT",
          StopGracePeriod: STOP_GRACE_MS * NS_PER_MS,
          Healthcheck: {
            Test: ["CMD-SHELL", `test -s ${INGRESS_PID_FILE}`],
            Interval: HEALTH_INTERVAL_MS * NS_PER_MS,
            Timeout: 3_000 * NS_PER_MS,
            Retries: 3,
            StartPeriod: HEALTH_START_PERIOD_MS * NS_PER_MS,
          },
        },
        Networks: [{ Target: ids.network }],
        RestartPolicy: { Condition: "any", Delay: 1_000 * NS_PER_MS },
      },
      Mode: { Replicated: { Replicas: 1 } },
      UpdateConfig: {
        Parallelism: 1,
        Delay: 0,
        // Host-mode ports: a second task cannot bind them beside the first, so a new task follows the old one.
        Order: "stop-first",
        FailureAction: "rollback",
        Monitor: UPDATE_MONITOR_MS * NS_PER_MS,
      },
      RollbackConfig: { Parallelism: 1, Order: "stop-first", FailureAction: "pause" },
      EndpointSpec: {
        Mode: "vip",
        Ports: [
          { Protocol: "tcp", TargetPort: 80, PublishedPort: spec.ports.http, PublishMode: "host" },
          { Protocol: "tcp", TargetPort: 443, PublishedPort: spec.ports.https, PublishMode: "host" },
        ],
      },
    };
  }

  async function findService(name: string): Promise<ServiceInspect | null> {
    const list = (await call("list services", () =>
      docker.listServices({ filters: { name: [name] } }),
    )) as unknown as ServiceInspect[];
    return list.find((s) => s.Spec.Name === name) ?? null;
  }

  /** Same image, config, secrets and ports: nothing to roll out. */
  function unchanged(current: ServiceInspect, wanted: Record<string, unknown>, withConfig = true): boolean {
    const strip = (s: unknown) => {
      const { TaskTemplate, EndpointSpec, Labels } = s as {
        TaskTemplate?: unknown;
        EndpointSpec?: unknown;
        Labels?: Record<string, string>;
      };
      return JSON.stringify({
        TaskTemplate: summary(TaskTemplate),
        EndpointSpec: ports(EndpointSpec),
        config: withConfig ? (Labels?.[INGRESS_CONFIG_LABEL] ?? null) : null,
      });
    };
    const noConfigs = (s: Record<string, unknown>) => {
      const t = structuredClone(s) as { TaskTemplate?: { ContainerSpec?: { Configs?: unknown } } };
      if (t.TaskTemplate?.ContainerSpec) t.TaskTemplate.ContainerSpec.Configs = [];
      return t;
    };
    return strip(noConfigs(current.Spec)) === strip(noConfigs(wanted));
  }

  /** The running container of the service's one task on this engine, if there is one. */
  async function localContainer(serviceId: string): Promise<string | null> {
    const info = (await call("get info", () => docker.info())) as { Swarm?: { NodeID?: string } };
    const tasks = await tasksOf(serviceId);
    const running = tasks.filter((t) => t.DesiredState === "running" && t.Status?.State === "running");
    if (running.length !== 1) return null;
    const task = running[0] as TaskJson & { NodeID?: string; Status?: { ContainerStatus?: { ContainerID?: string } } };
    if (task.NodeID !== info.Swarm?.NodeID) return null;
    return task.Status?.ContainerStatus?.ContainerID ?? null;
  }

  async function reloadInPlace(containerId: string, text: string): Promise<void> {
    const container = docker.getContainer(containerId);
    const exec = await call("create reload exec", () =>
      container.exec({
        Cmd: ["sh", "-c", RELOAD_SCRIPT],
        Env: [`STACKYARD_INGRESS_CONF=${text}`],
        AttachStdout: true,
        AttachStderr: true,
      }),
    );
    const stream = (await call("start reload exec", () =>
      exec.start({ hijack: true, stdin: false }),
    )) as NodeJS.ReadableStream;
    const output: Buffer[] = [];
    await new Promise<void>((resolve) => {
      stream.on("data", (c: Buffer) => output.push(c));
      stream.once("end", resolve);
      stream.once("close", resolve);
      stream.once("error", () => resolve());
    });
    const result = (await call("inspect reload exec", () => exec.inspect())) as { ExitCode?: number | null };
    if (result.ExitCode !== 0) {
      // Docker's multiplexed frames: drop the 8-byte headers' control bytes from the message.
      const text = [...Buffer.concat(output).toString("utf8")]
        .filter((ch) => ch.charCodeAt(0) > 8)
        .join("")
        .trim()
        .slice(-500);
      throw new IngressApplyError("rollout_failed", `the proxy refused the new configuration: ${text}`);
    }
  }

  async function tasksOf(serviceId: string): Promise<TaskJson[]> {
    return (await call("list tasks", () =>
      docker.listTasks({ filters: { service: [serviceId] } }),
    )) as unknown as TaskJson[];
  }

  /** Until the service runs one healthy task with this config and Swarm counts the update done. */
  async function waitForRollout(serviceId: string, configName: string, deadline: number, signal: AbortSignal) {
    for (;;) {
      if (signal.aborted) throw new IngressApplyError("rollout_failed", "the agent is stopping");
      const current = (await call("inspect service", () => docker.getService(serviceId).inspect())) as ServiceInspect;
      const state = current.UpdateStatus?.State;
      if (state === "paused" || state === "rollback_completed" || state === "rollback_paused") {
        throw new IngressApplyError(
          "rollout_failed",
          `the proxy update did not complete (${state}): ${current.UpdateStatus?.Message ?? "no message"}`,
        );
      }
      const tasks = await tasksOf(serviceId);
      const running = tasks.filter(
        (t) =>
          t.DesiredState === "running" &&
          t.Status?.State === "running" &&
          (t.Spec?.ContainerSpec?.Configs ?? []).some((c) => c.ConfigName === configName),
      );
      const settled = state === undefined || state === "completed";
      if (running.length > 0 && settled) return;
      if (Date.now() > deadline) {
        const failed = tasks.find((t) => t.Status?.Err)?.Status?.Err;
        throw new IngressApplyError(
          "rollout_timed_out",
          `the proxy did not run the new configuration in time${failed ? `: ${failed}` : ""}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Configs and secrets of this proxy that no task uses any more; one still in use is kept for the next apply. */
  async function removeUnused(spec: IngressSpec, kept: ServiceInspect | null): Promise<number> {
    const filter = { filters: { label: [`${INGRESS_SERVICE_LABEL}=${spec.serviceName}`] } };
    // After an in-place reload the task template still names the config the task was created with.
    const template = (kept?.Spec.TaskTemplate?.ContainerSpec?.Configs ?? []).map((c) => c.ConfigName ?? "");
    const keep = new Set([spec.config.name, ...template, ...spec.secrets.map((s) => s.name)]);
    let removed = 0;
    const configs = (await call("list configs", () => docker.listConfigs(filter))) as Array<{
      ID: string;
      Spec?: { Name?: string };
    }>;
    for (const c of configs) {
      if (keep.has(c.Spec?.Name ?? "")) continue;
      if (await tryRemove(() => docker.getConfig(c.ID).remove())) removed++;
    }
    const secrets = (await call("list secrets", () => docker.listSecrets(filter))) as Array<{
      ID: string;
      Spec?: { Name?: string };
    }>;
    for (const s of secrets) {
      if (keep.has(s.Spec?.Name ?? "")) continue;
      if (await tryRemove(() => docker.getSecret(s.ID).remove())) removed++;
    }
    return removed;
  }

  return {
    async applyIngress(spec, signal) {
      const deadline = Date.now() + spec.timeoutMs;
      const labels = { [INGRESS_CLUSTER_LABEL]: spec.clusterId, [INGRESS_SERVICE_LABEL]: spec.serviceName };
      const current = await findService(spec.serviceName);
      if (current && current.Spec.Labels?.[INGRESS_CLUSTER_LABEL] !== spec.clusterId) {
        throw new IngressApplyError(
          "not_owned",
          `a service named ${spec.serviceName} exists on this swarm but is not this cluster's ingress proxy`,
        );
      }
      const network = await ensureNetwork(spec, { [INGRESS_CLUSTER_LABEL]: spec.clusterId });
      const config = await ensureConfig(spec, labels);
      const secrets = await ensureSecrets(spec, labels);
      const wanted = serviceSpec(spec, { network, config, secrets });
      let serviceId: string;
      let created = false;
      let changed = true;
      let container: string | null;
      if (!current) {
        const service = await call(`create service ${spec.serviceName}`, () =>
          docker.createService(wanted as unknown as Docker.CreateServiceOptions),
        );
        serviceId = service.id;
        created = true;
      } else if (unchanged(current, wanted)) {
        serviceId = current.ID;
        changed = false;
      } else if (unchanged(current, wanted, false) && (container = await localContainer(current.ID))) {
        // Only the configuration changed: reloaded in place, and recorded on the service's own labels (which
        // replace no task). The task template keeps the config it was created with until the next rollout.
        serviceId = current.ID;
        await reloadInPlace(container, spec.config.data);
        const labels = { ...(current.Spec.Labels ?? {}), [INGRESS_CONFIG_LABEL]: spec.config.name };
        await call(`label service ${spec.serviceName}`, () =>
          docker.getService(current.ID).update({
            _query: { version: current.Version.Index },
            _body: { ...current.Spec, Labels: labels },
          }),
        );
        const removed = await removeUnused(spec, current);
        return { serviceId, created: false, changed: true, removed };
      } else {
        serviceId = current.ID;
        await call(`update service ${spec.serviceName}`, () =>
          docker.getService(current.ID).update({ _query: { version: current.Version.Index }, _body: wanted }),
        );
      }
      await waitForRollout(serviceId, spec.config.name, deadline, signal);
      const removed = await removeUnused(spec, null);
      return { serviceId, created, changed, removed };
    },
  };
}

/** Resolves true when removed; an object in use (or gone already) is left for the next apply. */
async function tryRemove(fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (err) {
    const status = (err as { statusCode?: unknown }).statusCode;
    if (status === 400 || status === 404 || status === 409 || status === 500) return false;
    throw err;
  }
}

function summary(taskTemplate: unknown): unknown {
  const t = (taskTemplate ?? {}) as {
    ContainerSpec?: {
      Image?: string;
      Configs?: Array<{ ConfigName?: string }>;
      Secrets?: Array<{ SecretName?: string; File?: { Name?: string } }>;
    };
    Networks?: Array<{ Target?: string }>;
  };
  // The daemon may pin the image to a digest (`image:tag@sha256:…`): compare what was asked for.
  const image = (t.ContainerSpec?.Image ?? "").split("@")[0];
  return {
    image,
    configs: (t.ContainerSpec?.Configs ?? []).map((c) => c.ConfigName).sort(),
    secrets: (t.ContainerSpec?.Secrets ?? []).map((s) => `${s.SecretName}:${s.File?.Name}`).sort(),
    networks: (t.Networks ?? []).map((n) => n.Target).sort(),
  };
}

function ports(endpointSpec: unknown): unknown {
  const e = (endpointSpec ?? {}) as { Ports?: Array<{ TargetPort?: number; PublishedPort?: number }> };
  return (e.Ports ?? []).map((p) => `${p.PublishedPort}:${p.TargetPort}`).sort();
}

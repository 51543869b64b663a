/**
 * A service's Engine API spec reduced to what drift compares (nats/protocol/service-spec.ts): lists sorted,
 * Swarm's and Stackyard's own labels left out, what Swarm left unset kept as null.
 */
import { userLabels, type LiveServiceSpec, type SpecFile } from "../../../nats/protocol/service-spec.js";
import type { ServiceJson } from "./dockerode-engine.js";

const byJson = <T>(a: T, b: T): number => {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
};
const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);
const files = (list: Array<{ name?: string; file?: string }>): SpecFile[] =>
  list.map((f) => ({ source: f.name ?? "", target: f.file ?? f.name ?? "" })).sort(byJson);

export function toLiveServiceSpec(s: ServiceJson): LiveServiceSpec {
  const task = s.Spec.TaskTemplate ?? {};
  const container = task.ContainerSpec ?? {};
  const update = s.Spec.UpdateConfig;
  const restart = task.RestartPolicy;
  const global = s.Spec.Mode?.Global !== undefined;
  return {
    image: container.Image ?? "",
    entrypoint: container.Command && container.Command.length > 0 ? container.Command : null,
    command: container.Args && container.Args.length > 0 ? container.Args : null,
    env: [...(container.Env ?? [])].sort(),
    labels: userLabels(s.Spec.Labels),
    containerLabels: userLabels(container.Labels),
    ports: (s.Spec.EndpointSpec?.Ports ?? [])
      .map((p) => ({
        published: p.PublishedPort ? p.PublishedPort : null,
        target: p.TargetPort ?? 0,
        protocol: p.Protocol ?? "tcp",
        mode: p.PublishMode ?? "ingress",
      }))
      .sort(byJson),
    secrets: files((container.Secrets ?? []).map((x) => ({ name: x.SecretName, file: x.File?.Name }))),
    configs: files((container.Configs ?? []).map((x) => ({ name: x.ConfigName, file: x.File?.Name }))),
    mounts: (container.Mounts ?? [])
      .map((m) => ({
        type: m.Type ?? "volume",
        source: m.Source ?? "",
        target: m.Target ?? "",
        readOnly: !!m.ReadOnly,
      }))
      .sort(byJson),
    resources: {
      limitNanoCpus: task.Resources?.Limits?.NanoCPUs ?? 0,
      limitMemoryBytes: task.Resources?.Limits?.MemoryBytes ?? 0,
      reserveNanoCpus: task.Resources?.Reservations?.NanoCPUs ?? 0,
      reserveMemoryBytes: task.Resources?.Reservations?.MemoryBytes ?? 0,
    },
    placement: {
      constraints: [...(task.Placement?.Constraints ?? [])].sort(),
      preferences: (task.Placement?.Preferences ?? []).flatMap((p) =>
        p.Spread?.SpreadDescriptor ? [p.Spread.SpreadDescriptor] : [],
      ),
      maxReplicasPerNode: task.Placement?.MaxReplicas ?? 0,
    },
    updateConfig: update
      ? {
          parallelism: orNull(update.Parallelism),
          delayNs: orNull(update.Delay),
          failureAction: orNull(update.FailureAction),
          monitorNs: orNull(update.Monitor),
          maxFailureRatio: orNull(update.MaxFailureRatio),
          order: orNull(update.Order),
        }
      : null,
    restartPolicy: restart
      ? {
          condition: orNull(restart.Condition),
          delayNs: orNull(restart.Delay),
          maxAttempts: orNull(restart.MaxAttempts),
          windowNs: orNull(restart.Window),
        }
      : null,
    replicas: global ? null : (s.Spec.Mode?.Replicated?.Replicas ?? 1),
  };
}

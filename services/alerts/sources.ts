/**
 * What each rule kind reads, from what the control plane already stores: the agents' inventory
 * (`clusters.inventory_json`: every service's desired and running replicas, written on each change the agent
 * sees), the Swarm nodes (`cluster_nodes`), the clusters' status (heartbeats, goodbyes, the offline sweep), the
 * Docker events (`cluster_activity`), the agents' refusals (`cluster_security_warnings`) and the deployments. A
 * reading lists the subjects in violation now; subjects whose data cannot be trusted now (their cluster's agent
 * is silent, so its inventory is old) are undecided and keep whatever state they have.
 */
import { currentCertificateFacts } from "../ingress/index.js";
import type { InventoryService } from "../../nats/protocol/messages.js";
import type { TenantScope } from "../_shared/tenant.js";
import { composeName, desiredRelease, imageMatches } from "../deployments/index.js";
import {
  DEFAULT_CERTIFICATE_DAYS,
  DEFAULT_RESTART_THRESHOLD,
  DEFAULT_RESTART_WINDOW_SECONDS,
  type AlertRuleRow,
} from "./views.js";

export interface Observation {
  /** What it is about, stable across evaluations: `<environmentId>/<service>`, `<clusterId>/<nodeId>`, … */
  subject: string;
  summary: string;
  details: Record<string, unknown>;
  /** When the condition began, where the data says so (else: when an evaluation first saw it). */
  since?: Date;
}

export interface Reading {
  violations: Observation[];
  undecided(subject: string): boolean;
}

/** A certificate whose expiry a rule watches (the ingress certificates: services/ingress/certificate-facts.ts). */
export interface CertificateFact {
  id: string;
  name: string;
  clusterId: string | null;
  environmentId: string | null;
  notAfter: Date;
}

/** Where certificate_expiring reads certificates from: the ingress certificates, or a test's own list. */
export type CertificateSource = (scope: TenantScope, rule: AlertRuleRow) => Promise<CertificateFact[]>;
export const ingressCertificates: CertificateSource = (scope, rule) =>
  currentCertificateFacts(scope, { clusterId: rule.cluster_id, environmentId: rule.environment_id });

export interface SourceDeps {
  certificates: CertificateSource;
}

interface ClusterFacts {
  id: string;
  name: string;
  status: string;
  agent_id: string | null;
  last_seen_at: Date | null;
  inventory_json: { services?: InventoryService[] } | null;
}

interface EnvironmentFacts {
  id: string;
  name: string;
  cluster_id: string;
  swarm_stack: string;
  replica_overrides: Record<string, number> | null;
  stack_name: string;
}

/** Silent: what it last reported (inventory, nodes) may be old. */
const isSilent = (c: ClusterFacts | undefined): boolean =>
  !c || c.agent_id === null || !["online", "degraded"].includes(c.status);

async function clustersOf(scope: TenantScope, rule: AlertRuleRow): Promise<Map<string, ClusterFacts>> {
  let q = scope
    .from<ClusterFacts>("clusters")
    .whereNot("clusters.status", "revoked")
    .select("id", "name", "status", "agent_id", "last_seen_at", "inventory_json");
  if (rule.cluster_id) q = q.where("clusters.id", rule.cluster_id);
  if (rule.environment_id) {
    q = q.whereIn(
      "clusters.id",
      scope.from("environments").where("environments.id", rule.environment_id).select("environments.cluster_id"),
    );
  }
  const rows = (await q) as ClusterFacts[];
  return new Map(rows.map((r) => [r.id, r]));
}

async function environmentsOf(scope: TenantScope, rule: AlertRuleRow): Promise<EnvironmentFacts[]> {
  let q = scope
    .from("environments")
    .join("stacks", "stacks.id", "environments.stack_id")
    .select(
      "environments.id",
      "environments.name",
      "environments.cluster_id",
      "environments.swarm_stack",
      "environments.replica_overrides",
      "stacks.name as stack_name",
    );
  if (rule.cluster_id) q = q.where("environments.cluster_id", rule.cluster_id);
  if (rule.environment_id) q = q.where("environments.id", rule.environment_id);
  return (await q) as EnvironmentFacts[];
}

const envLabel = (env: EnvironmentFacts) => `${env.stack_name}/${env.name}`;

/** The environment's services as the last inventory saw them, by compose name. */
function liveServices(env: EnvironmentFacts, cluster: ClusterFacts | undefined): Map<string, InventoryService> {
  const services = (cluster?.inventory_json?.services ?? []).filter(
    (s) => s.environmentId === env.id || (s.environmentId === null && s.stack === env.swarm_stack),
  );
  return new Map(services.map((s) => [composeName(env.swarm_stack, s.name), s]));
}

/** Each environment's services: the replicas Stackyard wants (scale overrides over the release) and the live ones. */
async function serviceFacts(scope: TenantScope, rule: AlertRuleRow) {
  const clusters = await clustersOf(scope, rule);
  const envs = await environmentsOf(scope, rule);
  const silentEnvs = new Set<string>();
  const out: Array<{
    env: EnvironmentFacts;
    cluster: ClusterFacts;
    live: Map<string, InventoryService>;
    desired: Awaited<ReturnType<typeof desiredRelease>>;
  }> = [];
  for (const env of envs) {
    const cluster = clusters.get(env.cluster_id);
    if (isSilent(cluster)) {
      silentEnvs.add(env.id);
      continue;
    }
    out.push({
      env,
      cluster: cluster!,
      live: liveServices(env, cluster),
      desired: await desiredRelease(scope, env.id, env.swarm_stack),
    });
  }
  return { facts: out, undecided: (subject: string) => silentEnvs.has(subject.split("/")[0] ?? "") };
}

const wantedReplicas = (
  env: EnvironmentFacts,
  key: string,
  desired: Awaited<ReturnType<typeof desiredRelease>>,
): number | null => {
  const want = desired?.services[key];
  if (!want || want.replicas === null) return null;
  return env.replica_overrides?.[key] ?? want.replicas;
};

async function belowReplicas(scope: TenantScope, rule: AlertRuleRow): Promise<Reading> {
  const { facts, undecided } = await serviceFacts(scope, rule);
  const violations: Observation[] = [];
  for (const { env, cluster, live, desired } of facts) {
    const keys = new Set([...live.keys(), ...Object.keys(desired?.services ?? {})]);
    for (const key of keys) {
      const s = live.get(key);
      if (s?.mode === "global") continue;
      const want = wantedReplicas(env, key, desired) ?? s?.desiredReplicas ?? 0;
      const running = s?.runningReplicas ?? 0;
      if (running >= want) continue;
      violations.push({
        subject: `${env.id}/${key}`,
        summary: `${envLabel(env)}: service ${key} runs ${running} of ${want} replicas`,
        details: {
          environmentId: env.id,
          clusterId: cluster.id,
          service: key,
          desiredReplicas: want,
          runningReplicas: running,
          swarmDesiredReplicas: s?.desiredReplicas ?? null,
        },
      });
    }
  }
  return { violations, undecided };
}

async function drift(scope: TenantScope, rule: AlertRuleRow): Promise<Reading> {
  const { facts, undecided } = await serviceFacts(scope, rule);
  const violations: Observation[] = [];
  for (const { env, cluster, live, desired } of facts) {
    if (!desired) continue;
    for (const [key, want] of Object.entries(desired.services)) {
      const s = live.get(key);
      const differences: string[] = [];
      if (!s) differences.push("missing from the swarm");
      else {
        if (want.image && !imageMatches(want.image, s.image)) {
          differences.push(`image ${s.image.split("@")[0]} ≠ desired ${want.image}`);
        }
        const replicas = wantedReplicas(env, key, desired);
        if (replicas !== null && s.desiredReplicas !== replicas) {
          differences.push(`replicas ${s.desiredReplicas} ≠ desired ${replicas}`);
        }
      }
      if (differences.length === 0) continue;
      violations.push({
        subject: `${env.id}/${key}`,
        summary: `${envLabel(env)}: service ${key} drifted from release v${desired.version} (${differences.join(", ")})`,
        details: { environmentId: env.id, clusterId: cluster.id, service: key, drift: differences },
      });
    }
    for (const key of live.keys()) {
      if (desired.services[key]) continue;
      violations.push({
        subject: `${env.id}/${key}`,
        summary: `${envLabel(env)}: service ${key} is not in release v${desired.version}`,
        details: { environmentId: env.id, clusterId: cluster.id, service: key, drift: ["not in the desired release"] },
      });
    }
  }
  return { violations, undecided };
}

async function deploymentFailed(scope: TenantScope, rule: AlertRuleRow): Promise<Reading> {
  const envs = new Map((await environmentsOf(scope, rule)).map((e) => [e.id, e]));
  if (envs.size === 0) return { violations: [], undecided: () => false };
  const latest = (await scope
    .from("deployments")
    .whereIn("deployments.environment_id", [...envs.keys()])
    .whereIn("deployments.status", ["SUCCEEDED", "FAILED"])
    .distinctOn("deployments.environment_id")
    .orderBy([{ column: "deployments.environment_id" }, { column: "deployments.finished_at", order: "desc" }])
    .select(
      "deployments.id",
      "deployments.environment_id",
      "deployments.status",
      "deployments.finished_at",
      "deployments.error_message",
      "deployments.error_code",
    )) as Array<{
    id: string;
    environment_id: string;
    status: string;
    finished_at: Date;
    error_message: string | null;
    error_code: string | null;
  }>;
  const violations = latest
    .filter((d) => d.status === "FAILED")
    .map((d) => {
      const env = envs.get(d.environment_id)!;
      return {
        subject: env.id,
        summary: `${envLabel(env)}: deployment failed${d.error_message ? ` — ${d.error_message.slice(0, 300)}` : ""}`,
        details: {
          environmentId: env.id,
          clusterId: env.cluster_id,
          deploymentId: d.id,
          errorCode: d.error_code,
        },
        since: d.finished_at,
      };
    });
  return { violations, undecided: () => false };
}

/** `<service>.<slot or node>.<task id>` → `<service>`. */
const SERVICE_OF_TASK = String.raw`regexp_replace(cluster_activity.name, '\.[^.]+\.[^.]+$', '')`;

async function restartLoop(scope: TenantScope, rule: AlertRuleRow): Promise<Reading> {
  const clusters = await clustersOf(scope, rule);
  if (clusters.size === 0) return { violations: [], undecided: () => false };
  const threshold = rule.threshold ?? DEFAULT_RESTART_THRESHOLD;
  const windowSeconds = rule.window_seconds || DEFAULT_RESTART_WINDOW_SECONDS;
  let q = scope
    .from("cluster_activity")
    .whereIn("cluster_activity.cluster_id", [...clusters.keys()])
    .where({ "cluster_activity.type": "task", "cluster_activity.action": "die" })
    .whereNotNull("cluster_activity.name")
    .whereRaw("cluster_activity.received_at > now() - make_interval(secs => ?)", [windowSeconds])
    .groupByRaw(`cluster_activity.cluster_id, ${SERVICE_OF_TASK}`)
    .havingRaw("count(*) >= ?", [threshold])
    .select("cluster_activity.cluster_id", scope.db.raw(`${SERVICE_OF_TASK} AS service`))
    .count({ deaths: "*" });
  if (rule.environment_id) {
    const env = (await environmentsOf(scope, rule))[0];
    if (!env) return { violations: [], undecided: () => false };
    q = q.whereRaw(`${SERVICE_OF_TASK} LIKE ?`, [`${env.swarm_stack.replace(/[\\%_]/g, "\\$&")}\\_%`]);
  }
  const rows = (await q) as Array<{ cluster_id: string; service: string; deaths: string | number }>;
  const violations = rows.map((r) => ({
    subject: `${r.cluster_id}/${r.service}`,
    summary: `cluster ${clusters.get(r.cluster_id)?.name ?? r.cluster_id}: service ${r.service} restarted ${Number(r.deaths)} times in ${windowSeconds}s`,
    details: { clusterId: r.cluster_id, service: r.service, deaths: Number(r.deaths), windowSeconds },
  }));
  // Deaths stop being reported while the agent is silent: that is not a recovery.
  return { violations, undecided: (subject) => isSilent(clusters.get(subject.split("/")[0] ?? "")) };
}

async function nodeDown(scope: TenantScope, rule: AlertRuleRow): Promise<Reading> {
  const clusters = await clustersOf(scope, rule);
  const live = [...clusters.values()].filter((c) => !isSilent(c));
  const rows =
    live.length === 0
      ? []
      : ((await scope
          .from("cluster_nodes")
          .whereIn(
            "cluster_nodes.cluster_id",
            live.map((c) => c.id),
          )
          .whereNot("cluster_nodes.status", "ready")
          .select(
            "cluster_nodes.cluster_id",
            "cluster_nodes.node_id",
            "cluster_nodes.hostname",
            "cluster_nodes.status",
            "cluster_nodes.updated_at",
          )) as Array<{ cluster_id: string; node_id: string; hostname: string; status: string; updated_at: Date }>);
  const violations = rows.map((n) => ({
    subject: `${n.cluster_id}/${n.node_id}`,
    summary: `cluster ${clusters.get(n.cluster_id)?.name ?? n.cluster_id}: node ${n.hostname} is ${n.status}`,
    details: { clusterId: n.cluster_id, nodeId: n.node_id, hostname: n.hostname, status: n.status },
  }));
  return { violations, undecided: (subject) => isSilent(clusters.get(subject.split("/")[0] ?? "")) };
}

async function clusterOffline(scope: TenantScope, rule: AlertRuleRow): Promise<Reading> {
  const clusters = await clustersOf(scope, rule);
  const violations = [...clusters.values()]
    .filter((c) => c.agent_id !== null && (c.status === "offline" || c.status === "link_down"))
    .map((c) => ({
      subject: c.id,
      summary: `cluster ${c.name} is ${c.status === "link_down" ? "unreachable (link down)" : "offline"}${
        c.last_seen_at ? ` since ${c.last_seen_at.toISOString()}` : ""
      }`,
      details: { clusterId: c.id, status: c.status, lastSeenAt: c.last_seen_at?.toISOString() ?? null },
      ...(c.last_seen_at ? { since: c.last_seen_at } : {}),
    }));
  return { violations, undecided: () => false };
}

async function agentRefused(scope: TenantScope, rule: AlertRuleRow): Promise<Reading> {
  const clusters = await clustersOf(scope, rule);
  if (clusters.size === 0) return { violations: [], undecided: () => false };
  const rows = (await scope
    .from("cluster_security_warnings")
    .whereIn("cluster_security_warnings.cluster_id", [...clusters.keys()])
    .whereNull("cluster_security_warnings.acknowledged_at")
    .select(
      "cluster_security_warnings.id",
      "cluster_security_warnings.cluster_id",
      "cluster_security_warnings.code",
      "cluster_security_warnings.reason",
      "cluster_security_warnings.count",
      "cluster_security_warnings.first_seen_at",
    )) as Array<{ id: string; cluster_id: string; code: string; reason: string; count: number; first_seen_at: Date }>;
  const violations = rows.map((w) => ({
    subject: `${w.cluster_id}/${w.code}`,
    summary: `cluster ${clusters.get(w.cluster_id)?.name ?? w.cluster_id}: the agent refused ${w.count} command(s) (${w.code}: ${w.reason.slice(0, 200)})`,
    details: { clusterId: w.cluster_id, warningId: w.id, code: w.code, count: w.count },
    since: w.first_seen_at,
  }));
  return { violations, undecided: () => false };
}

async function certificateExpiring(scope: TenantScope, rule: AlertRuleRow, deps: SourceDeps): Promise<Reading> {
  const days = rule.threshold ?? DEFAULT_CERTIFICATE_DAYS;
  const horizon = Date.now() + days * 86_400_000;
  const violations = (await deps.certificates(scope, rule))
    .filter((c) => c.notAfter.getTime() <= horizon)
    .map((c) => ({
      subject: c.id,
      summary: `certificate ${c.name} expires ${c.notAfter.toISOString()}`,
      details: { certificateId: c.id, clusterId: c.clusterId, environmentId: c.environmentId, notAfter: c.notAfter },
    }));
  return { violations, undecided: () => false };
}

export function readRule(scope: TenantScope, rule: AlertRuleRow, deps: SourceDeps): Promise<Reading> {
  switch (rule.kind) {
    case "service_below_replicas":
      return belowReplicas(scope, rule);
    case "drift_detected":
      return drift(scope, rule);
    case "deployment_failed":
      return deploymentFailed(scope, rule);
    case "task_restart_loop":
      return restartLoop(scope, rule);
    case "node_down":
      return nodeDown(scope, rule);
    case "cluster_offline":
      return clusterOffline(scope, rule);
    case "agent_refused_command":
      return agentRefused(scope, rule);
    case "certificate_expiring":
      return certificateExpiring(scope, rule, deps);
  }
}

/** How long a condition must hold before it fires: kinds that count within their window fire at once. */
export function holdSecondsOf(rule: AlertRuleRow): number {
  return rule.kind === "task_restart_loop" || rule.kind === "certificate_expiring" ? 0 : rule.window_seconds;
}

/**
 * A cluster's managed ingress: its settings, the routes environments declare through it, and the one way the
 * proxy changes — `applyIngress`, which renders nginx.conf from every route, current certificate and open ACME
 * challenge of the cluster, seals the certificates' keys to the agent and has the agent roll the proxy out. Every
 * change runs in one transaction holding the cluster's ingress row lock while the agent works, so two changes
 * never interleave and a change the agent could not apply is not stored.
 */
import { randomUUID } from "node:crypto";
import type { NatsConnection } from "nats";
import { AgentRejectedError, sendAgentCommand } from "../_shared/agent-commands.js";
import { ConflictError, NotFoundError, UnprocessableError } from "../_shared/errors.js";
import type { MasterKeys } from "../_shared/master-keys.js";
import type { Principal, RequestInfo } from "../_shared/principal.js";
import type { OpBody } from "../_shared/rest.js";
import { systemDb, type TenantScope } from "../_shared/tenant.js";
import { actorOf, recordAudit } from "../audit/index.js";
import { agentSealPublicKey } from "../clusters/index.js";
import { findEnvironment } from "../stacks/index.js";
import { seal } from "../../nats/protocol/sealing.js";
import { certificateKeyPem, currentCertificates } from "./certificates.repo.js";
import { certificateSecretName, configName, renderNginxConfig } from "./nginx-config.js";
import {
  findClusterIngress,
  listEnvironmentRoutes,
  type ClusterIngressRow,
  type IngressRouteRow,
} from "./routes.repo.js";

export const DEFAULT_INGRESS_SERVICE = "stackyard-ingress";
export const DEFAULT_INGRESS_NETWORK = "stackyard-ingress";
export const DEFAULT_HTTP_PORT = 80;
export const DEFAULT_HTTPS_PORT = 443;
/** Beyond the agent's own rollout deadline: the command's trip and the reply's. */
const APPLY_MARGIN_MS = 10_000;

export interface IngressDeps {
  nc: NatsConnection;
  commandSigningSeed: string;
  masterKeys: MasterKeys;
  /** How long the agent may take to roll the proxy out. */
  applyTimeoutSeconds: number;
  /** The image of a new ingress when the request names none. */
  defaultImage: string;
}

export function clusterIngressView(row: ClusterIngressRow) {
  return {
    clusterId: row.cluster_id,
    image: row.image,
    serviceName: row.service_name,
    networkName: row.network_name,
    httpPort: row.http_port,
    httpsPort: row.https_port,
    acmeDirectoryUrl: row.acme_directory_url,
    acmeEmail: row.acme_email,
    revision: row.revision,
    appliedRevision: row.applied_revision,
    appliedConfigName: row.applied_config_name,
    appliedAt: row.applied_at ? new Date(row.applied_at).toISOString() : null,
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

export function routeView(r: IngressRouteRow) {
  return { id: r.id, host: r.host, pathPrefix: r.path_prefix, service: r.service, port: r.port, tls: r.tls };
}

/** 404 for a cluster that is not the org's, before anything about its ingress is told. */
export async function requireCluster(scope: TenantScope, clusterId: string): Promise<void> {
  const cluster = await scope.from("clusters").where({ id: clusterId }).first("id");
  if (!cluster) throw new NotFoundError("CLUSTER_NOT_FOUND", "no such cluster");
}

export async function getClusterIngress(scope: TenantScope, clusterId: string) {
  await requireCluster(scope, clusterId);
  const row = await findClusterIngress(scope, clusterId);
  if (!row) throw new NotFoundError("INGRESS_NOT_ENABLED", "the cluster has no managed ingress: PUT it to enable it");
  return clusterIngressView(row);
}

/** The cluster's ingress row, locked for the rest of the transaction; 409 when the cluster has none. */
export async function lockClusterIngress(scope: TenantScope, clusterId: string): Promise<ClusterIngressRow> {
  const row = await scope
    .from<ClusterIngressRow>("cluster_ingress")
    .where({ cluster_id: clusterId })
    .forUpdate()
    .first();
  if (!row) {
    throw new ConflictError(
      "INGRESS_NOT_ENABLED",
      "the environment's cluster has no managed ingress: enable it first (PUT /v1/orgs/{orgId}/clusters/{clusterId}/ingress)",
    );
  }
  return row;
}

export async function putClusterIngress(
  deps: IngressDeps,
  scope: TenantScope,
  principal: Principal,
  clusterId: string,
  input: OpBody<"putClusterIngress">,
  request: RequestInfo,
) {
  return scope.transaction(async (tx) => {
    await requireCluster(tx, clusterId);
    const existing = await tx
      .from<ClusterIngressRow>("cluster_ingress")
      .where({ cluster_id: clusterId })
      .forUpdate()
      .first();
    const settings = {
      image: input.image ?? existing?.image ?? deps.defaultImage,
      service_name: input.serviceName ?? existing?.service_name ?? DEFAULT_INGRESS_SERVICE,
      network_name: input.networkName ?? existing?.network_name ?? DEFAULT_INGRESS_NETWORK,
      http_port: input.httpPort ?? existing?.http_port ?? DEFAULT_HTTP_PORT,
      https_port: input.httpsPort ?? existing?.https_port ?? DEFAULT_HTTPS_PORT,
      acme_directory_url:
        input.acmeDirectoryUrl !== undefined ? input.acmeDirectoryUrl : (existing?.acme_directory_url ?? null),
      acme_email: input.acmeEmail !== undefined ? input.acmeEmail : (existing?.acme_email ?? null),
    };
    if (settings.http_port === settings.https_port) {
      throw new UnprocessableError("INGRESS_PORTS_CLASH", "httpPort and httpsPort must differ");
    }
    if (
      existing &&
      (existing.service_name !== settings.service_name || existing.network_name !== settings.network_name)
    ) {
      throw new ConflictError(
        "INGRESS_RENAME_UNSUPPORTED",
        "the proxy's service and network names are fixed once the ingress exists",
      );
    }
    if (existing) {
      await tx
        .from("cluster_ingress")
        .where({ cluster_id: clusterId })
        .update({ ...settings, updated_at: tx.db.fn.now() });
    } else {
      await tx.insert("cluster_ingress", { cluster_id: clusterId, ...settings });
    }
    const row = await lockClusterIngress(tx, clusterId);
    const applied = await applyIngress(deps, tx, row);
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "ingress.configure",
        targetType: "cluster",
        targetId: clusterId,
        data: {
          image: settings.image,
          httpPort: settings.http_port,
          httpsPort: settings.https_port,
          acmeDirectoryUrl: settings.acme_directory_url,
          configName: applied.applied_config_name,
        },
      },
      request,
    );
    return clusterIngressView(applied);
  });
}

/**
 * Renders and rolls out the proxy's configuration. `row` must be locked by the caller's transaction; the new
 * revision and what was applied are written to it only once the agent answered.
 */
export async function applyIngress(
  deps: IngressDeps,
  tx: TenantScope,
  row: ClusterIngressRow,
): Promise<ClusterIngressRow> {
  const routes = (await tx
    .from("ingress_routes")
    .join("environments", "environments.id", "ingress_routes.environment_id")
    .where("ingress_routes.cluster_id", row.cluster_id)
    .select("ingress_routes.*", "environments.swarm_stack")) as Array<IngressRouteRow & { swarm_stack: string }>;
  const tlsHosts = new Set(routes.filter((r) => r.tls).map((r) => r.host));
  const certificates = (await currentCertificates(tx, row.cluster_id)).filter((c) => tlsHosts.has(c.host));
  const challenges = (await tx
    .from("ingress_acme_challenges")
    .where({ cluster_id: row.cluster_id })
    .select("host", "token", "key_authorization")) as Array<{ host: string; token: string; key_authorization: string }>;
  const secrets = certificates.map((c) => {
    const name = certificateSecretName(row.service_name, c.id, c.certificate_pem);
    return { certificate: c, name, target: `${name}.pem` };
  });
  const revision = row.revision + 1;
  const text = renderNginxConfig({
    clusterId: row.cluster_id,
    revision,
    routes: routes.map((r) => ({
      host: r.host,
      pathPrefix: r.path_prefix,
      upstream: `${r.swarm_stack}_${r.service}`,
      port: r.port,
      tls: r.tls,
    })),
    certificates: secrets.map((s) => ({ host: s.certificate.host, target: s.target })),
    challenges: challenges.map((c) => ({ host: c.host, token: c.token, keyAuthorization: c.key_authorization })),
  });
  const config = { name: configName(row.service_name, revision, text), data: text };
  const applyId = randomUUID();
  let sealKey: string | null = null;
  if (secrets.length > 0) {
    sealKey = await agentSealPublicKey(tx.db, row.cluster_id);
    if (!sealKey) {
      throw new UnprocessableError(
        "AGENT_SEAL_KEY_MISSING",
        "the cluster's agent has no key to seal certificate keys to: register it again (stackyard-agent register --force)",
      );
    }
  }
  const payloadCertificates = secrets.map((s) => ({
    secret: s.name,
    target: s.target,
    sealed: seal(`${certificateKeyPem(deps.masterKeys, s.certificate)}\n${s.certificate.certificate_pem}`, sealKey!, {
      clusterId: row.cluster_id,
      deploymentId: applyId,
      kind: "secret",
      name: s.name,
    }),
  }));
  try {
    await sendAgentCommand(
      deps.nc,
      deps.commandSigningSeed,
      { orgId: tx.orgId, clusterId: row.cluster_id },
      "ApplyIngress",
      {
        applyId,
        serviceName: row.service_name,
        networkName: row.network_name,
        image: row.image,
        ports: { http: row.http_port, https: row.https_port },
        config,
        certificates: payloadCertificates,
        timeoutSeconds: deps.applyTimeoutSeconds,
      },
      {
        timeoutMs: deps.applyTimeoutSeconds * 1000 + APPLY_MARGIN_MS,
        ttlMs: deps.applyTimeoutSeconds * 1000 + APPLY_MARGIN_MS,
      },
    );
  } catch (err) {
    if (err instanceof AgentRejectedError && err.agentCode === "INGRESS_NOT_OWNED") {
      throw new ConflictError(
        "INGRESS_NOT_OWNED",
        `a service named ${row.service_name} exists on the swarm and is not this cluster's ingress: choose another serviceName`,
      );
    }
    throw err;
  }
  const [updated] = (await tx
    .from("cluster_ingress")
    .where({ cluster_id: row.cluster_id })
    .update({
      revision,
      applied_revision: revision,
      applied_config_name: config.name,
      applied_at: tx.db.fn.now(),
    })
    .returning("*")) as unknown as ClusterIngressRow[];
  return updated!;
}

export type RouteInput = OpBody<"putEnvironmentRoutes">["routes"][number];

export async function getEnvironmentRoutes(scope: TenantScope, environmentId: string) {
  const env = await findEnvironment(scope, environmentId);
  const [routes, ingress] = await Promise.all([
    listEnvironmentRoutes(scope, env.id),
    findClusterIngress(scope, env.cluster_id),
  ]);
  return {
    environmentId: env.id,
    clusterId: env.cluster_id,
    routes: routes.map(routeView),
    appliedConfigName: ingress?.applied_config_name ?? null,
    note: ROUTES_NOTE,
  };
}

const ROUTES_NOTE =
  "the proxy serves these routes now; the routed services join the proxy's network at the environment's next deployment (see its diff)";

export async function putEnvironmentRoutes(
  deps: IngressDeps,
  scope: TenantScope,
  principal: Principal,
  environmentId: string,
  input: RouteInput[],
  request: RequestInfo,
) {
  const routes = input.map((r) => ({
    host: r.host,
    path_prefix: r.pathPrefix ?? "/",
    service: r.service,
    port: r.port,
    tls: r.tls ?? false,
  }));
  const seen = new Set<string>();
  for (const r of routes) {
    const key = `${r.host}${r.path_prefix}`;
    if (seen.has(key)) {
      throw new UnprocessableError("INGRESS_ROUTE_DUPLICATE", `${key} is routed twice`, {
        host: r.host,
        pathPrefix: r.path_prefix,
      });
    }
    seen.add(key);
  }
  const hosts = [...new Set(routes.map((r) => r.host))].sort();
  return scope.transaction(async (tx) => {
    const env = await findEnvironment(tx, environmentId);
    // Before the cluster's ingress is even looked at: another org's host is refused whatever this org's state.
    if (hosts.length > 0) await claimHosts(tx, hosts);
    const ingress = await lockClusterIngress(tx, env.cluster_id);
    if (hosts.length > 0) {
      const other = (await tx
        .from("ingress_routes")
        .where({ cluster_id: env.cluster_id })
        .whereIn("host", hosts)
        .whereNot({ environment_id: env.id })
        .first("host", "environment_id")) as { host: string; environment_id: string } | undefined;
      if (other) {
        throw new ConflictError(
          "INGRESS_HOST_IN_USE",
          `${other.host} is routed by another environment of this cluster`,
          { host: other.host, environmentId: other.environment_id },
        );
      }
    }
    await tx.from("ingress_routes").where({ environment_id: env.id }).delete();
    if (routes.length > 0) {
      await tx.insert(
        "ingress_routes",
        routes.map((r, position) => ({ ...r, position, cluster_id: env.cluster_id, environment_id: env.id })),
      );
    }
    await releaseUnroutedHosts(tx);
    const applied = await applyIngress(deps, tx, ingress);
    await recordAudit(
      tx,
      {
        ...actorOf(principal),
        action: "ingress.routes.update",
        targetType: "environment",
        targetId: env.id,
        data: {
          routes: routes.map((r) => `${r.host}${r.path_prefix} -> ${r.service}:${r.port}${r.tls ? " (tls)" : ""}`),
          configName: applied.applied_config_name,
        },
      },
      request,
    );
    const stored = await listEnvironmentRoutes(tx, env.id);
    return {
      environmentId: env.id,
      clusterId: env.cluster_id,
      routes: stored.map(routeView),
      appliedConfigName: applied.applied_config_name,
      note: ROUTES_NOTE,
    };
  });
}

/**
 * Host names are one org's across the installation: the first org to route a host owns it (the primary key of
 * ingress_hosts decides a race), every other org is refused without learning which org it is.
 */
async function claimHosts(tx: TenantScope, hosts: string[]): Promise<void> {
  const all = systemDb(tx.db, "ingress");
  await all("ingress_hosts")
    .insert(hosts.map((host) => ({ host, org_id: tx.orgId })))
    .onConflict("host")
    .ignore();
  const taken = (await all("ingress_hosts").whereIn("host", hosts).whereNot({ org_id: tx.orgId }).first("host")) as
    { host: string } | undefined;
  if (taken) {
    throw new ConflictError("INGRESS_HOST_TAKEN", `${taken.host} is routed by another organisation`, {
      host: taken.host,
    });
  }
}

/** An org's claim on a host ends with its last route to it. */
async function releaseUnroutedHosts(tx: TenantScope): Promise<void> {
  await tx
    .from("ingress_hosts")
    .whereNotIn("host", tx.db("ingress_routes").where({ org_id: tx.orgId }).select("host"))
    .delete();
}

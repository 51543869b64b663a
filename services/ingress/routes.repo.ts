/**
 * The ingress rows as the rest of the control plane reads them. Kept free of other services' modules: the
 * renderer of environments (services/stacks) and the deploy worker load an environment's routes through here.
 */
import type { RenderIngress } from "../stacks/index.js";
import type { TenantScope } from "../_shared/tenant.js";

export interface IngressRouteRow {
  id: string;
  org_id: string;
  cluster_id: string;
  environment_id: string;
  host: string;
  path_prefix: string;
  service: string;
  port: number;
  tls: boolean;
  position: number;
  created_at: Date;
}

export interface ClusterIngressRow {
  cluster_id: string;
  org_id: string;
  image: string;
  service_name: string;
  network_name: string;
  http_port: number;
  https_port: number;
  acme_directory_url: string | null;
  acme_email: string | null;
  revision: number;
  applied_revision: number | null;
  applied_config_name: string | null;
  applied_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export async function listEnvironmentRoutes(scope: TenantScope, environmentId: string): Promise<IngressRouteRow[]> {
  return (await scope
    .from("ingress_routes")
    .where({ environment_id: environmentId })
    .orderBy("position")
    .select("*")) as unknown as IngressRouteRow[];
}

export async function findClusterIngress(
  scope: TenantScope,
  clusterId: string,
): Promise<ClusterIngressRow | undefined> {
  return scope.from<ClusterIngressRow>("cluster_ingress").where({ cluster_id: clusterId }).first();
}

/** What renderDesiredState needs of an environment's routes; undefined when it has none. */
export async function renderIngressFor(
  scope: TenantScope,
  environment: { id: string; cluster_id: string },
): Promise<RenderIngress | undefined> {
  const routes = await listEnvironmentRoutes(scope, environment.id);
  if (routes.length === 0) return undefined;
  const ingress = await findClusterIngress(scope, environment.cluster_id);
  if (!ingress) return undefined;
  return {
    network: ingress.network_name,
    routes: routes.map((r) => ({ host: r.host, pathPrefix: r.path_prefix, service: r.service, port: r.port })),
  };
}

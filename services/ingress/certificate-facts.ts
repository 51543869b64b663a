/**
 * The certificates the alerts' `certificate_expiring` rule watches: every current (not replaced) ingress certificate
 * of the org, or of the rule's cluster when the rule is limited to one. Certificates belong to a cluster's proxy,
 * not to an environment, so a rule limited to an environment watches its cluster's certificates.
 */
import type { TenantScope } from "../_shared/tenant.js";

export interface IngressCertificateFact {
  id: string;
  name: string;
  clusterId: string | null;
  environmentId: string | null;
  notAfter: Date;
}

export async function currentCertificateFacts(
  scope: TenantScope,
  limit: { clusterId: string | null; environmentId: string | null },
): Promise<IngressCertificateFact[]> {
  let clusterId = limit.clusterId;
  if (!clusterId && limit.environmentId) {
    const env = (await scope.from("environments").where({ id: limit.environmentId }).first("cluster_id")) as
      { cluster_id: string } | undefined;
    if (!env) return [];
    clusterId = env.cluster_id;
  }
  const q = scope.from("ingress_certificates").whereNull("replaced_at");
  if (clusterId) q.where({ cluster_id: clusterId });
  const rows = (await q.select("id", "host", "cluster_id", "not_after")) as unknown as Array<{
    id: string;
    host: string;
    cluster_id: string;
    not_after: Date;
  }>;
  return rows.map((r) => ({
    id: r.id,
    name: r.host,
    clusterId: r.cluster_id,
    environmentId: null,
    notAfter: new Date(r.not_after),
  }));
}

/**
 * The Swarm services of a cluster as its agent last reported them (the inventory): every service, Stackyard's or
 * not, with its stack and the environment that owns it. Said to be as old as the inventory (inventoryAt).
 */
import type { InventoryService } from "../../nats/protocol/messages.js";
import type { TenantScope } from "../_shared/tenant.js";
import { findCluster } from "./clusters.logic.js";

export async function listClusterServices(scope: TenantScope, clusterId: string) {
  const cluster = await findCluster(scope, clusterId);
  const inventory = cluster.inventory_json as { services?: InventoryService[] } | null;
  const services = [...(inventory?.services ?? [])].sort(
    (a, b) => (a.stack ?? "").localeCompare(b.stack ?? "") || a.name.localeCompare(b.name),
  );
  return {
    inventoryAt: cluster.inventory_at?.toISOString() ?? null,
    items: services.map((s) => ({
      name: s.name,
      stack: s.stack,
      environmentId: s.environmentId,
      image: s.image,
      mode: s.mode,
      desiredReplicas: s.desiredReplicas,
      runningReplicas: s.runningReplicas,
      updatedAt: s.updatedAt,
    })),
  };
}

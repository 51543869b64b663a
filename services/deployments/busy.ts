/**
 * One environment runs one deployment at a time, and operations that change its Swarm stack outside a deployment
 * (scale, delete) do not run beside one: they are refused with the deployment that holds the environment, so the
 * caller can say what it waits for instead of hanging until a timeout.
 */
import { ConflictError } from "../_shared/errors.js";
import type { TenantScope } from "../_shared/tenant.js";

export const ENVIRONMENT_BUSY = "ENVIRONMENT_BUSY";

export class EnvironmentBusyError extends ConflictError {
  constructor(deployment: { id: string; status: string }, what: string) {
    super(
      ENVIRONMENT_BUSY,
      `deployment ${deployment.id} of this environment is ${deployment.status}: wait for it to end or cancel it, then ${what}`,
      { deploymentId: deployment.id, status: deployment.status },
    );
  }
}

/** The oldest PENDING or RUNNING deployment of the environment, if any. Call it under the environment row lock. */
export async function activeDeployment(
  scope: TenantScope,
  environmentId: string,
): Promise<{ id: string; status: string } | null> {
  const row = (await scope
    .from("deployments")
    .where({ environment_id: environmentId })
    .whereIn("status", ["PENDING", "RUNNING"])
    .orderByRaw("CASE status WHEN 'RUNNING' THEN 0 ELSE 1 END")
    .orderBy("created_at")
    .first("id", "status")) as { id: string; status: string } | undefined;
  return row ?? null;
}

export async function assertEnvironmentIdle(scope: TenantScope, environmentId: string, what: string): Promise<void> {
  const busy = await activeDeployment(scope, environmentId);
  if (busy) throw new EnvironmentBusyError(busy, what);
}

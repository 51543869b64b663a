/**
 * Versioned Swarm secrets of a stack. Swarm secrets are immutable, so the control plane names each write of a
 * secret distinctly (`<swarmStack>_<name>_<hash of environment, row, version, content>`) and the compose file
 * references them as external: a secret whose name already exists therefore already holds that value and is not
 * recreated. A version removed from the swarm is created again from the command's value when it is deployed again.
 * Values are only ever handed to the engine.
 */
import { OWNERSHIP_LABELS, SECRET_NAME_LABEL } from "../../../nats/protocol/labels.js";
import type { DockerEngine, SwarmSecret } from "../docker/engine.js";
import { DockerEngineError } from "../docker/dockerode-engine.js";
import type { Emit } from "./types.js";

export const SECRET_STACK_LABEL = "com.stackyard.stack";
export const SECRET_MANAGED_LABEL = "com.stackyard.managed";

export async function ensureSecrets(
  engine: DockerEngine,
  stackName: string,
  secrets: ReadonlyArray<{ name: string; secret?: string; value: string }>,
  emit: Emit,
  ownership: Readonly<Record<string, string>> = {},
): Promise<{ created: string[] }> {
  const wanted = new Map(secrets.map((s) => [s.name, s]));
  if (wanted.size === 0) return { created: [] };
  // Secret names are global to the swarm, so look at all of them, not only the ones labelled for this stack.
  const existing = new Set((await engine.listSecrets()).map((s) => s.name));
  const created: string[] = [];
  for (const [name, { secret, value }] of wanted) {
    if (existing.has(name)) continue;
    try {
      await engine.createSecret({
        name,
        data: Buffer.from(value, "utf8"),
        labels: {
          ...ownership,
          ...(secret !== undefined ? { [SECRET_NAME_LABEL]: secret } : {}),
          [SECRET_STACK_LABEL]: stackName,
          [SECRET_MANAGED_LABEL]: "true",
        },
      });
    } catch (err) {
      // Created concurrently (another deploy of the same release): same name means same version, so it is fine.
      if (err instanceof DockerEngineError && err.code === "DOCKER_CONFLICT") continue;
      throw err;
    }
    created.push(name);
    emit({ level: "info", message: `created secret ${name}`, data: { secret: name } });
  }
  if (wanted.size > created.length) {
    emit({
      level: "debug",
      message: `${wanted.size - created.length} secret(s) already present`,
      data: { secrets: [...wanted.keys()].filter((n) => !created.includes(n)) },
    });
  }
  return { created };
}

export interface RetentionOptions {
  /**
   * Versions of each secret still in the desired state kept, newest first, the current one included (for
   * `docker service rollback`). Versions of secrets no longer in the desired state are all removed. Default 1.
   */
  keepVersions?: number;
  /** Secrets labelled for another environment are never touched, whatever their stack label says. */
  environmentId?: string | null;
}

/**
 * Removes the stack's managed secrets that no service (of any stack) references any more, except `keep` (the
 * current release's) and the newest older versions `keepVersions` allows. A failure to remove one is reported and
 * skipped: cleanup never fails a deployment.
 */
export async function removeUnusedSecrets(
  engine: DockerEngine,
  stackName: string,
  keep: ReadonlySet<string>,
  emit: Emit,
  options: RetentionOptions = {},
): Promise<{ removed: string[] }> {
  const managed = (
    await engine.listSecrets({
      labels: { [SECRET_STACK_LABEL]: stackName, [SECRET_MANAGED_LABEL]: "true" },
    })
  ).filter((s) => {
    const owner = s.labels[OWNERSHIP_LABELS.environment];
    return options.environmentId == null || owner === undefined || owner === options.environmentId;
  });
  const retained = retainedVersions(managed, keep, Math.max(1, options.keepVersions ?? 1));
  const candidates = managed.filter((s) => !keep.has(s.name) && !retained.has(s.name));
  if (candidates.length === 0) return { removed: [] };
  const inUse = new Set((await engine.listServices()).flatMap((s) => s.secretNames));
  const removed: string[] = [];
  for (const secret of candidates) {
    if (inUse.has(secret.name)) continue;
    try {
      await engine.removeSecret(secret.id);
      removed.push(secret.name);
      emit({ level: "info", message: `removed unused secret ${secret.name}`, data: { secret: secret.name } });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      emit({
        level: "warn",
        message: `could not remove unused secret ${secret.name}: ${reason}`,
        data: { secret: secret.name },
      });
    }
  }
  return { removed };
}

/**
 * Per environment secret (`io.stackyard.secret`) still deployed: its newest versions, up to `keepVersions`
 * counting the current one. Secrets without that label (made before it existed) keep nothing beyond `keep`.
 */
function retainedVersions(managed: SwarmSecret[], keep: ReadonlySet<string>, keepVersions: number): Set<string> {
  const bySecret = new Map<string, SwarmSecret[]>();
  for (const s of managed) {
    const secret = s.labels[SECRET_NAME_LABEL];
    if (secret === undefined) continue;
    bySecret.set(secret, [...(bySecret.get(secret) ?? []), s]);
  }
  const retained = new Set<string>();
  for (const versions of bySecret.values()) {
    const current = versions.filter((v) => keep.has(v.name));
    if (current.length === 0) continue; // no longer in the desired state: nothing to roll back to
    const older = versions
      .filter((v) => !keep.has(v.name))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.name.localeCompare(b.name));
    for (const v of older.slice(0, Math.max(0, keepVersions - current.length))) retained.add(v.name);
  }
  return retained;
}

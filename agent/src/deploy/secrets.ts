/**
 * Versioned Swarm secrets of a stack. Swarm secrets are immutable, so the control plane names each version
 * distinctly (e.g. `<stack>_<name>_<hash>`) and the compose file references them as external: a secret whose name
 * already exists therefore already holds that value and is not recreated. Values are only ever handed to the engine.
 */
import type { DockerEngine } from "../docker/engine.js";
import { DockerEngineError } from "../docker/dockerode-engine.js";
import type { Emit } from "./types.js";

export const SECRET_STACK_LABEL = "com.stackyard.stack";
export const SECRET_MANAGED_LABEL = "com.stackyard.managed";

export async function ensureSecrets(
  engine: DockerEngine,
  stackName: string,
  secrets: ReadonlyArray<{ name: string; value: string }>,
  emit: Emit,
): Promise<{ created: string[] }> {
  const wanted = new Map(secrets.map((s) => [s.name, s.value]));
  if (wanted.size === 0) return { created: [] };
  // Secret names are global to the swarm, so look at all of them, not only the ones labelled for this stack.
  const existing = new Set((await engine.listSecrets()).map((s) => s.name));
  const created: string[] = [];
  for (const [name, value] of wanted) {
    if (existing.has(name)) continue;
    try {
      await engine.createSecret({
        name,
        data: Buffer.from(value, "utf8"),
        labels: { [SECRET_STACK_LABEL]: stackName, [SECRET_MANAGED_LABEL]: "true" },
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

/**
 * Removes the stack's managed secrets that no service (of any stack) references any more, except `keep` (the
 * current release's). A failure to remove one is reported and skipped: cleanup never fails a deployment.
 */
export async function removeUnusedSecrets(
  engine: DockerEngine,
  stackName: string,
  keep: ReadonlySet<string>,
  emit: Emit,
): Promise<{ removed: string[] }> {
  const managed = await engine.listSecrets({
    labels: { [SECRET_STACK_LABEL]: stackName, [SECRET_MANAGED_LABEL]: "true" },
  });
  const candidates = managed.filter((s) => !keep.has(s.name));
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

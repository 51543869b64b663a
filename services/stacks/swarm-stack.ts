/**
 * The Swarm stack of an environment: the name `docker stack deploy` gets, the prefix of every Swarm service,
 * network and secret of the environment, and unique per cluster. Also the ownership labels every object
 * Stackyard creates carries, so an environment never takes over a Swarm stack that is not its own by accident.
 */
import { createHash } from "node:crypto";
import { UnprocessableError } from "../_shared/errors.js";
import { OWNERSHIP_LABELS } from "../../nats/protocol/labels.js";
import { STACK_NAME_PATTERN } from "../../nats/protocol/messages.js";

/** What Docker accepts as a stack name (compose project name rules), at most 63 characters. */
export const SWARM_STACK_PATTERN = new RegExp(STACK_NAME_PATTERN);
export const MAX_SWARM_STACK_LENGTH = 63;
/** Characters of the stack/environment hash a too-long default name ends with. */
const DEFAULT_NAME_HASH_CHARS = 8;

export interface Ownership {
  orgId: string;
  environmentId: string;
  releaseId: string;
  /** Absent when rendering a preview: only a deployment has an id. */
  deploymentId?: string;
}

export function ownershipLabels(o: Ownership): Record<string, string> {
  return {
    [OWNERSHIP_LABELS.environment]: o.environmentId,
    [OWNERSHIP_LABELS.org]: o.orgId,
    [OWNERSHIP_LABELS.release]: o.releaseId,
    ...(o.deploymentId !== undefined ? { [OWNERSHIP_LABELS.deployment]: o.deploymentId } : {}),
  };
}

/** `<stack>-<environment>` (e.g. `shop-staging`); a name too long for Swarm keeps a hash of both in its tail. */
export function defaultSwarmStack(stackName: string, environmentName: string): string {
  const full = `${stackName}-${environmentName}`;
  if (full.length <= MAX_SWARM_STACK_LENGTH) return full;
  const hash = createHash("sha256").update(`${stackName}\0${environmentName}`).digest("hex");
  const head = full.slice(0, MAX_SWARM_STACK_LENGTH - DEFAULT_NAME_HASH_CHARS - 1).replace(/[-_]+$/, "");
  return `${head}-${hash.slice(0, DEFAULT_NAME_HASH_CHARS)}`;
}

export class SwarmStackInvalidError extends UnprocessableError {
  constructor(name: string) {
    super("SWARM_STACK_INVALID", "a Swarm stack name is 1-63 of a-z 0-9 _ - and starts with a letter or digit", {
      swarmStack: name,
    });
  }
}

export function checkSwarmStack(name: string): string {
  if (!SWARM_STACK_PATTERN.test(name)) throw new SwarmStackInvalidError(name);
  return name;
}

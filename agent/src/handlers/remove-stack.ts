/**
 * RemoveStack: removes what Stackyard deployed for one environment, and only that. Services and networks must be
 * in the stack's namespace and carry the environment's label; secrets and configs must carry the label. Anything
 * else found in the namespace is left alone and reported. Services go first; networks, secrets and configs are
 * retried until their tasks' containers have stopped (the daemon refuses to remove what a container still uses).
 */
import type { RemoveStackResult, SwarmObjectNames } from "../../../nats/protocol/commands/index.js";
import { OWNERSHIP_LABELS } from "../../../nats/protocol/labels.js";
import type { CommandHandler } from "../commands.js";
import { STACK_NAMESPACE_LABEL } from "../docker/dockerode-engine.js";
import type { SwarmObjectKind, SwarmObjectRef, SwarmObjectStore } from "../docker/engine.js";
import { AgentStoppingError, HandlerError, StackBusyError } from "./errors.js";

/** How long objects still in use by stopping containers are retried. */
export const REMOVE_STACK_MAX_WAIT_MS = 60_000;
/** Left between the end of the wait and the command's expiry, for the reply to travel. */
const REPLY_MARGIN_MS = 5_000;

export interface RemoveStackOptions {
  now?: () => number;
  retryIntervalMs?: number;
  maxWaitMs?: number;
  /** The deployment of this stack running on the agent, if any (a removal never races a deploy). */
  runningDeployment: (stackName: string) => string | undefined;
}

const KINDS: SwarmObjectKind[] = ["service", "network", "secret", "config"];
const emptyNames = (): SwarmObjectNames => ({ services: [], networks: [], secrets: [], configs: [] });
const listKey = (kind: SwarmObjectKind): keyof SwarmObjectNames => `${kind}s` as keyof SwarmObjectNames;

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

export function createRemoveStackHandler(
  store: SwarmObjectStore,
  opts: RemoveStackOptions,
): CommandHandler<"RemoveStack"> {
  const now = opts.now ?? Date.now;
  const retryIntervalMs = opts.retryIntervalMs ?? 500;
  const maxWaitMs = opts.maxWaitMs ?? REMOVE_STACK_MAX_WAIT_MS;
  return async (payload, ctx): Promise<RemoveStackResult> => {
    const { stackName, environmentId } = payload;
    const running = opts.runningDeployment(stackName);
    if (running) throw new StackBusyError(stackName, running);
    const owned = { [OWNERSHIP_LABELS.environment]: environmentId };
    const namespace = { [STACK_NAMESPACE_LABEL]: stackName };

    const toRemove = new Map<SwarmObjectKind, SwarmObjectRef[]>();
    const leftInPlace = emptyNames();
    for (const kind of KINDS) {
      const inNamespace = await store.listObjects(kind, namespace);
      for (const o of inNamespace)
        if (o.labels[OWNERSHIP_LABELS.environment] !== environmentId) {
          leftInPlace[listKey(kind)].push(o.name);
        }
      const candidates = kind === "service" || kind === "network" ? inNamespace : await store.listObjects(kind, owned);
      toRemove.set(
        kind,
        candidates.filter((o) => o.labels[OWNERSHIP_LABELS.environment] === environmentId),
      );
    }

    const removed = emptyNames();
    for (const service of toRemove.get("service") ?? []) {
      await store.removeObject("service", service.id);
      removed.services.push(service.name);
    }
    const deadline = Math.min(now() + maxWaitMs, ctx.command.expiresAt - REPLY_MARGIN_MS);
    let pending = (["network", "secret", "config"] as const).flatMap((kind) =>
      (toRemove.get(kind) ?? []).map((o) => ({ kind, object: o, lastError: "" })),
    );
    for (;;) {
      const still: typeof pending = [];
      for (const item of pending) {
        try {
          await store.removeObject(item.kind, item.object.id);
          removed[listKey(item.kind)].push(item.object.name);
        } catch (err) {
          still.push({ ...item, lastError: err instanceof Error ? err.message : String(err) });
        }
      }
      pending = still;
      if (pending.length === 0) break;
      if (ctx.signal.aborted) throw new AgentStoppingError(`the stack ${stackName} was only partly removed`);
      if (now() >= deadline) {
        throw new HandlerError(
          "REMOVE_STACK_INCOMPLETE",
          `the services of ${stackName} were removed, but ${pending.map((p) => `${p.kind} ${p.object.name}`).join(", ")} ` +
            `could not be removed in time (${pending[0]?.lastError ?? "no reason given"}); removing the environment again retries`,
        );
      }
      await sleep(retryIntervalMs, ctx.signal);
    }
    ctx.log.info("stack removed", {
      stackName,
      removed: Object.fromEntries(Object.entries(removed).map(([k, v]) => [k, (v as string[]).length])),
      leftInPlace: Object.fromEntries(Object.entries(leftInPlace).map(([k, v]) => [k, (v as string[]).length])),
    });
    for (const list of [...Object.values(removed), ...Object.values(leftInPlace)] as string[][]) list.sort();
    return { stackName, removed, leftInPlace };
  };
}

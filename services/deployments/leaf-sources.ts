/**
 * Store and forward for agents behind their own leaf node: the hub's STACKYARD_AGENT_EVENTS sources each such
 * cluster's leaf events stream through the leaf's JetStream domain (nats/protocol/subjects.ts, leafEventsSource).
 * JetStream then keeps, in the hub stream's state, the last leaf sequence it stored, and after a cut resumes from the
 * next one: events written during the cut arrive once, in order. The event writer's `(deployment_id, seq)` key
 * stays the last line of defence against duplicates.
 *
 * A stream update replaces the whole source list, and two control-plane instances may add sources at the same
 * moment; so each addition is read back and retried when another instance's update overwrote it.
 */
import type { JetStreamManager, StreamSource } from "nats";
import { AGENT_EVENTS_STREAM, leafEventsSource } from "../../nats/protocol/subjects.js";

const ATTEMPTS = 5;

const sameSource = (a: StreamSource, b: StreamSource): boolean =>
  a.name === b.name && a.external?.api === b.external?.api;

/** Adds the cluster's leaf as a source of the hub's events stream unless it is one already. Idempotent. */
export async function ensureLeafEventsSource(jsm: JetStreamManager, clusterId: string): Promise<"added" | "present"> {
  const wanted: StreamSource = leafEventsSource(clusterId);
  for (let attempt = 1; ; attempt++) {
    const info = await jsm.streams.info(AGENT_EVENTS_STREAM.name);
    const sources = info.config.sources ?? [];
    if (sources.some((s) => sameSource(s, wanted))) return attempt === 1 ? "present" : "added";
    if (attempt > ATTEMPTS) {
      throw new Error(`the leaf source of cluster ${clusterId} did not stick after ${ATTEMPTS} updates`);
    }
    await jsm.streams.update(AGENT_EVENTS_STREAM.name, { ...info.config, sources: [...sources, wanted] });
    await new Promise((r) => setTimeout(r, 50 * attempt));
  }
}

/**
 * Keeps every leaf cluster sourced without a stream lookup per heartbeat: a cluster is checked again at most every
 * `recheckMs` (a hub whose JetStream store was lost recreates the stream without sources), and checks run one at a
 * time per process.
 */
export function createLeafSourceKeeper(opts: {
  jsm: () => Promise<JetStreamManager>;
  onError: (clusterId: string, err: unknown) => void;
  onAdded?: (clusterId: string) => void;
  recheckMs?: number;
  now?: () => number;
}) {
  const recheckMs = opts.recheckMs ?? 5 * 60_000;
  const now = opts.now ?? Date.now;
  const checkedAt = new Map<string, number>();
  let chain: Promise<void> = Promise.resolve();
  return {
    /** Called for every heartbeat of an agent in leaf mode; never throws. */
    seen(clusterId: string): Promise<void> {
      const last = checkedAt.get(clusterId);
      if (last !== undefined && now() - last < recheckMs) return Promise.resolve();
      checkedAt.set(clusterId, now());
      chain = chain.then(async () => {
        try {
          if ((await ensureLeafEventsSource(await opts.jsm(), clusterId)) === "added") opts.onAdded?.(clusterId);
        } catch (err) {
          checkedAt.delete(clusterId);
          opts.onError(clusterId, err);
        }
      });
      return chain;
    },
  };
}

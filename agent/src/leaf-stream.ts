/**
 * The leaf's own events stream (leaf mode): the agent's deployment events are stored here first, in the leaf's
 * JetStream domain, under `agent-local.<clusterId>.<deploymentId>`, and the agent's forwarder
 * (leaf-forwarder.ts) delivers them to the hub whenever the link is up. Created through the local connection (the
 * leaf's JetStream API is local). A stream made by an older agent (subjects `agent-events.…`, sourced by the hub)
 * is updated in place: what it holds stays, and the forwarder delivers that too.
 */
import { DiscardPolicy, RetentionPolicy, StorageType, nanos, type JetStreamManager } from "nats";
import { LEAF_EVENTS_MAX_AGE_MS, LEAF_EVENTS_STREAM, leafLocalEventsWildcard } from "../../nats/protocol/subjects.js";

export { LEAF_EVENTS_MAX_AGE_MS };
export const LEAF_EVENTS_MAX_BYTES = 512 * 1024 * 1024;

export function leafEventsStreamConfig(clusterId: string) {
  return {
    name: LEAF_EVENTS_STREAM,
    subjects: [leafLocalEventsWildcard(clusterId)],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(LEAF_EVENTS_MAX_AGE_MS),
    max_bytes: LEAF_EVENTS_MAX_BYTES,
    max_msg_size: 64 * 1024,
    discard: DiscardPolicy.Old,
  };
}

export async function ensureLeafEventsStream(jsm: JetStreamManager, clusterId: string): Promise<void> {
  const config = leafEventsStreamConfig(clusterId);
  try {
    await jsm.streams.info(config.name);
    await jsm.streams.update(config.name, config);
  } catch (err) {
    if (!/stream not found/i.test(String(err))) throw err;
    await jsm.streams.add(config);
  }
}

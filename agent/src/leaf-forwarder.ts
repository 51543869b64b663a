/**
 * Store and forward, the agent's half (leaf mode): deployment events are written to the leaf's own stream
 * (leaf-stream.ts, `agent-local.<clusterId>.<deploymentId>`), and this forwarder reads them from a durable consumer
 * of that stream, one at a time and in order, and publishes each on its hub subject (`agent-events.<clusterId>.
 * <deploymentId>`). The leaf carries that to the hub, where the org account's service import delivers it into the
 * control plane's STACKYARD_AGENT_EVENTS and the JetStream ack back. Only an acknowledged event is acknowledged on
 * the leaf; while the link is down the publish fails and is retried (with backoff) until it is back, so nothing is
 * lost and the order holds. A retried publish carries the event's own message id (`<deploymentId>-<seq>`), so the
 * hub stores it once; the control plane's writer dedupes again on deployment + seq.
 *
 * Why not have the hub source the leaf's stream: the leaf is in the org's account and the hub's stream in the
 * control plane's, and sourcing across accounts needs the control plane's account to import every leaf's
 * flow-control subjects, which are the same for every leaf (`$JS.FC.<stream>.…`): it cannot tell two orgs apart.
 */
import { AckPolicy, DeliverPolicy, nanos, type JsMsg, type NatsConnection } from "nats";
import { LEAF_EVENTS_STREAM, hubEventsSubjectOf } from "../../nats/protocol/subjects.js";
import type { Logger } from "./logger.js";
import { createBackoff, sleep, type Backoff } from "./schedule.js";

/** The forwarder's durable consumer on the leaf's events stream: its acks are what has reached the hub. */
export const LEAF_FORWARDER_CONSUMER = "STACKYARD_FORWARDER";
export const FORWARD_PUBLISH_TIMEOUT_MS = 5_000;
/** How long one fetch waits on the leaf for the next event before asking again. */
const FETCH_EXPIRES_MS = 5_000;

export interface LeafForwarderOptions {
  /** The agent's connection to its local leaf. */
  nc: NatsConnection;
  log: Logger;
  signal: AbortSignal;
  backoff?: Backoff;
}

export interface LeafForwarderStats {
  forwarded: number;
  /** Events of the stream the forwarder cannot place (not a deployment events subject): acknowledged, skipped. */
  skipped: number;
}

async function ensureForwarderConsumer(nc: NatsConnection): Promise<void> {
  const jsm = await nc.jetstreamManager();
  try {
    await jsm.consumers.info(LEAF_EVENTS_STREAM, LEAF_FORWARDER_CONSUMER);
  } catch (err) {
    if (!/consumer not found/i.test(String(err))) throw err;
    await jsm.consumers.add(LEAF_EVENTS_STREAM, {
      durable_name: LEAF_FORWARDER_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      // Everything the stream holds: events an older agent left there (sourced by the hub, maybe not all yet)
      // are forwarded too; the hub keeps one copy of each.
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(60_000),
      max_ack_pending: 1,
      max_deliver: -1,
    });
  }
}

/** Publishes one event to the hub until the hub's stream acknowledges it (or the forwarder stops). */
async function forwardOne(m: JsMsg, opts: LeafForwarderOptions, backoff: Backoff): Promise<boolean> {
  const target = hubEventsSubjectOf(m.subject);
  if (!target) return false;
  const js = opts.nc.jetstream();
  const msgID = m.headers?.get("Nats-Msg-Id") || `${m.info.stream}-${m.seq}`;
  for (;;) {
    try {
      // No domain: the local leaf holds no stream for `agent-events.…`, so the request crosses the leaf link.
      const ack = await js.publish(target, m.data, { msgID, timeout: FORWARD_PUBLISH_TIMEOUT_MS });
      if (ack.duplicate) opts.log.debug("forwarded event was already at the hub", { subject: target, msgID });
      backoff.reset();
      return true;
    } catch (err) {
      if (opts.signal.aborted) throw err;
      const delay = backoff.next();
      opts.log.debug("forwarding an event to the hub failed; retrying", { err, inMs: delay });
      await sleep(delay, opts.signal);
      if (opts.signal.aborted) throw err;
    }
  }
}

/** Runs until `signal` aborts; returns what it did. Errors of the leaf itself are retried, never thrown. */
export async function runLeafForwarder(opts: LeafForwarderOptions): Promise<LeafForwarderStats> {
  const stats: LeafForwarderStats = { forwarded: 0, skipped: 0 };
  const backoff = opts.backoff ?? createBackoff({ initialMs: 250, maxMs: 5_000 });
  const leafBackoff = createBackoff({ initialMs: 500, maxMs: 10_000 });
  while (!opts.signal.aborted) {
    try {
      await ensureForwarderConsumer(opts.nc);
      const consumer = await opts.nc.jetstream().consumers.get(LEAF_EVENTS_STREAM, LEAF_FORWARDER_CONSUMER);
      leafBackoff.reset();
      while (!opts.signal.aborted) {
        const m = await consumer.next({ expires: FETCH_EXPIRES_MS });
        if (!m) continue;
        if (await forwardOne(m, opts, backoff)) stats.forwarded++;
        else stats.skipped++;
        await m.ackAck();
      }
    } catch (err) {
      if (opts.signal.aborted) break;
      const delay = leafBackoff.next();
      opts.log.warn("the leaf events forwarder failed; restarting it", { err, inMs: delay });
      await sleep(delay, opts.signal);
    }
  }
  return stats;
}

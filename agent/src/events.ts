/**
 * Deployment events (StreamEvents) to the control plane: `agent-events.<clusterId>.<deploymentId>`, captured by
 * the STACKYARD_AGENT_EVENTS stream. Published in order, one message at a time (a single event, or a batch of the
 * events that waited meanwhile), each with a JetStream message id, so a retried publish is stored once and the
 * control plane can order by `seq`. Only plain publishes with an ack:
 * no JetStream API, which leaf connections do not get.
 */
import type { PubAck } from "nats";
import {
  encodeMessage,
  MAX_EVENT_BATCH_BYTES,
  MAX_EVENT_BATCH_EVENTS,
  type DeploymentEvent,
  type DeploymentOutcome,
  type EventLevel,
} from "../../nats/protocol/messages.js";
import { agentSubjects } from "../../nats/protocol/subjects.js";
import type { Logger } from "./logger.js";
import { createBackoff, sleep } from "./schedule.js";

export const EVENT_PUBLISH_TIMEOUT_MS = 5_000;
/**
 * Enough to ride out a JetStream failover: when the NATS node leading the events stream is lost, the replicas elect
 * a new leader, and publishes meanwhile fail at once with "no responders". 12 attempts, backing off 250 ms → 5 s,
 * keep trying for about 40 s (longer when each attempt waits out its timeout); a retried event is stored once
 * (its message id).
 */
export const EVENT_PUBLISH_ATTEMPTS = 12;
export const EVENT_PUBLISH_BACKOFF = { initialMs: 250, maxMs: 5_000 } as const;
const MAX_MESSAGE_CHARS = 16 * 1024;

/** `js.publish` of the nats client, or a stand-in in unit tests. */
export type AckedPublish = (
  subject: string,
  data: Uint8Array,
  opts: { msgID: string; timeout: number },
) => Promise<PubAck>;

export interface DeploymentEventInput {
  level: EventLevel;
  message: string;
  data?: Record<string, unknown>;
}

/** An event encoded once, when it was emitted. */
interface QueuedEvent {
  seq: number;
  bytes: Uint8Array;
}

const COMMA = new TextEncoder().encode(",");
const BATCH_CLOSE = new TextEncoder().encode("]}");

export class DeploymentEventStream {
  private seq: number;
  private readonly queue: QueuedEvent[] = [];
  /** The loop publishing the queue, while there is one; at most one publish is in flight, so order is kept. */
  private pumping: Promise<void> | null = null;
  private readonly subject: string;
  /** The start of every DeploymentEventBatch of this deployment, up to its first event. */
  private readonly batchOpen: Uint8Array;
  private readonly stop = new AbortController();
  dropped = 0;

  constructor(
    private readonly opts: {
      publish: AckedPublish;
      clusterId: string;
      deploymentId: string;
      /** From the DeployStack command: the control plane numbered the events before the agent's. */
      firstSeq: number;
      now: () => number;
      log: Logger;
      /** Tests shorten the backoff; production uses EVENT_PUBLISH_BACKOFF. */
      backoff?: { initialMs: number; maxMs: number };
    },
  ) {
    this.seq = opts.firstSeq;
    this.subject = agentSubjects(opts.clusterId).deploymentEvents(opts.deploymentId);
    this.batchOpen = new TextEncoder().encode(`{"deploymentId":${JSON.stringify(opts.deploymentId)},"events":[`);
  }

  /** Queues an event; never throws (a deploy must not fail because its output could not be shipped). */
  emit(event: DeploymentEventInput): void {
    this.enqueue(event, null);
  }

  /** Queues the final event carrying the outcome and waits until every event was acknowledged or dropped. */
  async finish(outcome: DeploymentOutcome, event: DeploymentEventInput): Promise<void> {
    this.enqueue(event, outcome);
    await this.flushed();
  }

  /** Resolves once every event queued so far was acknowledged or dropped. */
  async flushed(): Promise<void> {
    await this.pumping;
  }

  /** Gives up on events still queued (agent shutdown). */
  abandon(): void {
    this.stop.abort();
  }

  private enqueue(event: DeploymentEventInput, outcome: DeploymentOutcome | null): void {
    const message: DeploymentEvent = {
      deploymentId: this.opts.deploymentId,
      seq: this.seq++,
      ts: this.opts.now(),
      level: event.level,
      message: event.message.slice(0, MAX_MESSAGE_CHARS),
      data: event.data ?? null,
      outcome,
    };
    try {
      this.queue.push({ seq: message.seq, bytes: encodeMessage("DeploymentEvent", message) });
    } catch (err) {
      this.dropped++;
      this.opts.log.error("deployment event dropped: malformed", { err, seq: message.seq });
      return;
    }
    this.pumping ??= this.pump();
  }

  /**
   * Publishes what is queued, one message at a time: a lone event as a DeploymentEvent, several waiting ones as a
   * DeploymentEventBatch. Lines never wait for a timer: a quiet deploy sends each as it comes, a chatty one sends
   * what piled up during the previous publish's round trip.
   */
  private async pump(): Promise<void> {
    // Events emitted in the same tick as the first one travel with it.
    await Promise.resolve();
    while (this.queue.length > 0 && !this.stop.signal.aborted) await this.send(this.takeBatch());
    this.pumping = null;
  }

  private takeBatch(): QueuedEvent[] {
    let bytes = 0;
    let count = 0;
    while (
      count < this.queue.length &&
      count < MAX_EVENT_BATCH_EVENTS &&
      (count === 0 || bytes + this.queue[count]!.bytes.length <= MAX_EVENT_BATCH_BYTES)
    ) {
      bytes += this.queue[count]!.bytes.length;
      count++;
    }
    return this.queue.splice(0, count);
  }

  /** A DeploymentEventBatch from events already encoded (and validated) one by one: only the framing is added. */
  private encodeBatch(batch: QueuedEvent[]): Uint8Array {
    if (batch.length === 1) return batch[0]!.bytes;
    const parts: Uint8Array[] = [this.batchOpen];
    batch.forEach((e, i) => (i > 0 ? parts.push(COMMA, e.bytes) : parts.push(e.bytes)));
    parts.push(BATCH_CLOSE);
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  private async send(batch: QueuedEvent[]): Promise<void> {
    const data = this.encodeBatch(batch);
    const first = batch[0]!.seq;
    const last = batch.at(-1)!.seq;
    // The same id for every attempt of the same events: a retried publish is stored once.
    const msgID = first === last ? `${this.opts.deploymentId}-${first}` : `${this.opts.deploymentId}-${first}-${last}`;
    const backoff = createBackoff(this.opts.backoff ?? EVENT_PUBLISH_BACKOFF);
    for (let attempt = 1; attempt <= EVENT_PUBLISH_ATTEMPTS && !this.stop.signal.aborted; attempt++) {
      try {
        await this.opts.publish(this.subject, data, { msgID, timeout: EVENT_PUBLISH_TIMEOUT_MS });
        return;
      } catch (err) {
        if (attempt === EVENT_PUBLISH_ATTEMPTS) {
          this.dropped += batch.length;
          this.opts.log.error("deployment events dropped after retries", { err, firstSeq: first, lastSeq: last });
          return;
        }
        await sleep(backoff.next(), this.stop.signal);
      }
    }
  }
}

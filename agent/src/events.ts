/**
 * Deployment events (StreamEvents) to the control plane: `agent-events.<clusterId>.<deploymentId>`, captured by
 * the STACKYARD_AGENT_EVENTS stream. Published in order, one at a time, each with a JetStream message id, so a
 * retried publish is stored once and the control plane can order by `seq`. Only plain publishes with an ack:
 * no JetStream API, which leaf connections do not get.
 */
import type { PubAck } from "nats";
import {
  encodeMessage,
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

export class DeploymentEventStream {
  private seq: number;
  private chain: Promise<void> = Promise.resolve();
  private readonly subject: string;
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
  }

  /** Queues an event; never throws (a deploy must not fail because its output could not be shipped). */
  emit(event: DeploymentEventInput): void {
    this.enqueue(event, null);
  }

  /** Queues the final event carrying the outcome and waits until every event was acknowledged or dropped. */
  async finish(outcome: DeploymentOutcome, event: DeploymentEventInput): Promise<void> {
    this.enqueue(event, outcome);
    await this.chain;
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
    this.chain = this.chain.then(() => this.send(message));
  }

  private async send(event: DeploymentEvent): Promise<void> {
    let data: Uint8Array;
    try {
      data = encodeMessage("DeploymentEvent", event);
    } catch (err) {
      this.dropped++;
      this.opts.log.error("deployment event dropped: malformed", { err, seq: event.seq });
      return;
    }
    const backoff = createBackoff(this.opts.backoff ?? EVENT_PUBLISH_BACKOFF);
    for (let attempt = 1; attempt <= EVENT_PUBLISH_ATTEMPTS && !this.stop.signal.aborted; attempt++) {
      try {
        await this.opts.publish(this.subject, data, {
          msgID: `${event.deploymentId}-${event.seq}`,
          timeout: EVENT_PUBLISH_TIMEOUT_MS,
        });
        return;
      } catch (err) {
        if (attempt === EVENT_PUBLISH_ATTEMPTS) {
          this.dropped++;
          this.opts.log.error("deployment event dropped after retries", { err, seq: event.seq });
          return;
        }
        await sleep(backoff.next(), this.stop.signal);
      }
    }
  }
}

/**
 * Retries a batch of agent events until Postgres takes it (a restart or failover makes writes fail for seconds).
 * The event writer's batches run one after another, so retrying in place keeps the order: nothing past a failed
 * batch is stored, and a terminal event is never applied while events before it are still missing (an SSE client
 * closes after the terminal event and would never see them). Meanwhile the messages are kept in progress, so
 * JetStream does not hand them to another writer while this one still holds them.
 */
export interface RetryOptions {
  /** First pause after a failure; doubled per attempt up to maxDelayMs. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** True once the service stops: the batch is then left unacked, for JetStream to redeliver. */
  stopped: () => boolean;
  /** Called on each failure (the writer logs the first one of an outage, then every tenth). */
  onError: (err: unknown, attempt: number) => void;
  /** Called before each pause: tells JetStream the messages are still being worked on. */
  keepAlive: () => void;
  sleep?: (ms: number) => Promise<void>;
}

/** Resolves with write's result once it succeeds, or with null when the service stopped first. */
export async function retryUntilWritten<T>(write: () => Promise<T>, opts: RetryOptions): Promise<T | null> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let delay = opts.initialDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      opts.onError(err, attempt);
      if (opts.stopped()) return null;
      opts.keepAlive();
      await sleep(delay);
      if (opts.stopped()) return null;
      delay = Math.min(delay * 2, opts.maxDelayMs);
    }
  }
}

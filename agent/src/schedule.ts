/** Timers the agent's loops share: exponential backoff with full jitter, and a non-overlapping periodic task. */
import type { Logger } from "./logger.js";

export interface Backoff {
  /** The delay before the next attempt; grows until `reset()`. */
  next(): number;
  reset(): void;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  random?: () => number;
}

/**
 * Full jitter (a random delay between half and all of the exponential step) spreads the reconnects of thousands
 * of agents after a control-plane restart instead of having them arrive in waves.
 */
export function createBackoff(opts: BackoffOptions): Backoff {
  const random = opts.random ?? Math.random;
  let attempt = 0;
  return {
    next() {
      const ceiling = Math.min(opts.maxMs, opts.initialMs * 2 ** Math.min(attempt, 30));
      attempt++;
      return Math.round(ceiling / 2 + random() * (ceiling / 2));
    },
    reset() {
      attempt = 0;
    },
  };
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Runs `task` now and then `intervalMs` after each run ends, until `signal` aborts; failures are logged. */
export function every(
  intervalMs: number,
  task: () => Promise<void>,
  opts: { signal: AbortSignal; log: Logger; what: string; runNow?: boolean },
): Promise<void> {
  return (async () => {
    if (opts.runNow === false) await sleep(intervalMs, opts.signal);
    while (!opts.signal.aborted) {
      try {
        await task();
      } catch (err) {
        opts.log.warn(`${opts.what} failed`, { err });
      }
      await sleep(intervalMs, opts.signal);
    }
  })();
}
